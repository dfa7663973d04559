// Grapevine's pages, live: the one script of the site (the
// Content-Security-Policy allows the site's own files and nothing else).
// Every page works without it; with it, a channel's latest page shows new
// messages as they are stored and loses the ones a moderator hides, the
// home page's figures and games online, and a game's page, follow who
// plays, and the chat index follows who speaks, without a reload.
//
// The list of messages says where its stream is (data-stream, under the
// JSON API) and the newest message it shows (data-last-id).  The stream
// (Server-Sent Events) sends what came after that one, then each message
// as it comes; the browser's EventSource connects again by itself after
// a reload of nginx or a lost connection, with Last-Event-ID, and misses
// nothing.  A refusal (a 503 when the server is busy) closes it: this
// script opens it again after a few seconds, from the newest id it has.

(function () {
    'use strict';

    var RETRY_MS = 5000;
    var KEEP = 500;       // messages kept on a page; the oldest go
    var REFRESH_MS = 250; // presence: changes this close are read at once

    function text(cls, value) {
        var span = document.createElement('span');
        span.className = cls;
        span.textContent = value;
        return span;
    }

    function when(iso) {
        // as the page writes it: "YYYY-MM-DD HH:MM" (UTC)
        return String(iso || '').replace('T', ' ').slice(0, 16) + ' UTC';
    }

    function add(list, m) {
        var li, empty;

        if (list.querySelector('li[data-id="' + m.id + '"]')) {
            return;
        }

        li = document.createElement('li');
        li.setAttribute('data-id', String(m.id));
        li.appendChild(text('when', when(m.inserted_at)));
        li.appendChild(document.createTextNode(' '));
        li.appendChild(text('who', m.name + '@' + m.game));
        li.appendChild(document.createTextNode(' '));
        li.appendChild(text('text', m.text));
        list.appendChild(li);

        empty = document.querySelector('p.empty');
        if (empty) {
            empty.parentNode.removeChild(empty);
        }

        while (list.children.length > KEEP) {
            list.removeChild(list.firstElementChild);
        }
    }

    function hide(list, id) {
        var li = list.querySelector('li[data-id="' + id + '"]');
        if (li) {
            li.parentNode.removeChild(li);
        }
    }

    function follow(list) {
        var last = list.getAttribute('data-last-id') || '0';
        var base = list.getAttribute('data-stream');
        var note = document.querySelector('p.live');
        var es;

        function open() {
            es = new EventSource(base + (last ? '?last_event_id='
                                            + encodeURIComponent(last) : ''));

            es.addEventListener('open', function () {
                if (note) {
                    note.hidden = false;
                }
            });

            es.addEventListener('message', function (e) {
                var m;
                try {
                    m = JSON.parse(e.data);
                } catch (err) {
                    return;
                }
                last = String(m.id);
                list.setAttribute('data-last-id', last);
                add(list, m);
            });

            es.addEventListener('hide', function (e) {
                try {
                    hide(list, JSON.parse(e.data).id);
                } catch (err) {
                    /* not an event of ours */
                }
            });

            es.addEventListener('error', function () {
                if (es.readyState === EventSource.CLOSED) {
                    if (note) {
                        note.hidden = true;
                    }
                    setTimeout(open, RETRY_MS);
                }
            });
        }

        open();
    }

    // A part of the page marked data-live="presence" (the home page's
    // figures, a game's page: data-live-game names it) or data-live="chat"
    // (the chat index: each channel's count and last message) is read
    // again, the page itself fetched from the server, when the network's
    // stream says a game's presence changed, or a channel spoke: one read
    // at a time, a quarter second after the change that asked for it.
    function live(part) {
        var kind = part.getAttribute('data-live');
        var game = part.getAttribute('data-live-game');
        var url = part.getAttribute('data-stream');
        var waiting = false;
        var es;

        function refresh() {
            var req = new XMLHttpRequest();

            req.open('GET', window.location.href);
            req.responseType = 'document';
            req.onload = function () {
                var fresh;

                waiting = false;
                if (req.status !== 200 || !req.response) {
                    return;
                }
                fresh = req.response.querySelector('[data-live="' + kind
                                                    + '"]');
                if (fresh) {
                    part.innerHTML = fresh.innerHTML;
                }
            };
            req.onerror = function () {
                waiting = false;
            };
            req.send();
        }

        function open() {
            es = new EventSource(url);

            es.addEventListener(kind, function (e) {
                var p;
                try {
                    p = JSON.parse(e.data);
                } catch (err) {
                    return;
                }
                if (game && String(p.game).toLowerCase()
                            !== game.toLowerCase())
                {
                    return;
                }
                if (!waiting) {
                    waiting = true;
                    setTimeout(refresh, REFRESH_MS);
                }
            });

            es.addEventListener('error', function () {
                if (es.readyState === EventSource.CLOSED) {
                    setTimeout(open, RETRY_MS);
                }
            });
        }

        open();
    }

    function start() {
        var lists = document.querySelectorAll('ol[data-stream]');
        var parts = document.querySelectorAll('[data-live="presence"],'
                                              + ' [data-live="chat"]');
        var i;

        if (!window.EventSource) {
            return;
        }

        for (i = 0; i < lists.length; i++) {
            follow(lists[i]);
        }

        for (i = 0; i < parts.length; i++) {
            live(parts[i]);
        }
    }

    if (document.readyState === 'loading') {
        document.addEventListener('DOMContentLoaded', start);
    } else {
        start();
    }
}());

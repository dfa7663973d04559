// Live pages in real browsers: two headless Chromium sessions (Debian's
// /usr/bin/chromium, playwright-core) on /chat/gossip.  Run by
// t/046-site-live-e2e.t, which starts the Gossip test hub and nginx and
// makes a moderator's account:
//
//   node t/e2e/live.mjs SITE_URL HUB_CONTROL_URL SCREENSHOT_DIR USERNAME \
//        PASSWORD
//
// A message said on the hub shows on both pages within a second, without
// a reload; the moderator hides it in Raisin and it leaves both pages; a
// player who signs in on the hub shows on the game's page and in the home
// page's figures;
// one session sends through the site's chat form and the other shows it;
// the pages' one script runs under the
// Content-Security-Policy without a violation.  Prints "ok - <step>" or
// "not ok - <step>: <why>" a step, exits 1 when one failed.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ok, step, failures, browser, until } from './tap.mjs';

const [site, hub, shots, user, password] = process.argv.slice(2);
if (!site || !hub || !shots || !user || !password) {
    console.error('usage: live.mjs SITE_URL HUB_CONTROL_URL SCREENSHOT_DIR '
                  + 'USERNAME PASSWORD');
    process.exit(2);
}

mkdirSync(shots, { recursive: true });

const one = await browser('live-one');
const two = await browser('live-two');
const errors = [];

async function open(b, name) {
    const page = b.context.pages()[0] ?? await b.context.newPage();
    page.setDefaultTimeout(10000);
    page.on('pageerror', e => errors.push(`${name}: ${e}`));
    // a script error or a policy violation; not a resource's status
    // (the favicon's 404)
    page.on('console', m => {
        if (m.type() === 'error' && !/^Failed to load resource/.test(m.text()))
            errors.push(`${name}: ${m.text()}`);
    });
    return page;
}

const a = await open(one, 'one');
const b = await open(two, 'two');

// ms until every page shows (or, with gone, no longer shows) the text
async function seen(pages, text, gone = false, ms = 3000) {
    const t = Date.now();
    const all = await until(async () => {
        for (const p of pages) {
            const body = await p.textContent('ol.messages');
            if (body.includes(text) === gone) return false;
        }
        return true;
    }, ms, 20);
    return all ? Date.now() - t : null;
}

const said = `live from the hub ${Date.now()}`;

try {
    await step('both sessions open #gossip and go live', async () => {
        for (const p of [a, b]) {
            const res = await p.goto(site + '/chat/gossip');
            if (res.status() !== 200) return `status ${res.status()}`;
        }
        const live = await until(async () =>
            await a.isVisible('p.live') && await b.isVisible('p.live'),
            5000, 50);
        return live || 'the pages did not say they are live';
    });

    await step('a message said on the hub shows on both within a second, '
               + 'without a reload', async () => {
        const res = await fetch(hub + '/broadcast', {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ channel: 'gossip', game: 'ExVenture',
                                   name: 'Amy', message: said }),
        });
        if (!res.ok) return `the hub answered ${res.status}`;
        const ms = await seen([a, b], said);
        console.log(`# shown after ${ms} ms`);
        await a.screenshot({ path: join(shots, 'live-chat.png'),
                             fullPage: true });
        if (ms === null) return 'not shown within 3 s';
        return ms <= 1000 || `shown after ${ms} ms`;
    });

    await step('the moderator hides it in Raisin: it leaves both pages',
               async () => {
        const id = await a.getAttribute(
            `ol.messages li:has-text("${said}")`, 'data-id');
        if (!id) return 'the message has no id on the page';
        const mod = await browser('live-mod');
        try {
            const m = await open(mod, 'mod');
            await m.goto(site + '/sign-in?next=/raisin/channels/gossip');
            await m.fill('input[name=login]', user);
            await m.fill('input[name=password]', password);
            await Promise.all([m.waitForURL(/\/raisin\/channels\/gossip/),
                               m.click('form.stack button[type=submit]')]);
            const form = m.locator(`form[action="/raisin/messages/${id}/hide"]`);
            if (await form.count() !== 1) return `no hide form for ${id}`;
            const field = form.locator('[name=reason]');
            if (!await field.isVisible()) {
                await form.locator('xpath=ancestor::details[1]/summary')
                    .click();
            }
            await field.fill('live e2e');
            await Promise.all([
                m.waitForURL(/\/raisin\/channels\/gossip/),
                form.locator('button[type=submit], input[type=submit]')
                    .first().click(),
            ]);
        } finally {
            await mod.close();
        }
        const ms = await seen([a, b], said, true);
        if (ms === null) return 'still shown after 3 s';
        return ms <= 1000 || `gone after ${ms} ms`;
    });

    await step('a player signs in on the hub: the game\'s page and the '
               + 'home page show it without a reload', async () => {
        await a.goto(site + '/games/ExVenture');
        await b.goto(site + '/');
        const figure = async () => Number(await b.textContent(
            '.figure:nth-child(2) .number'));
        const before = await figure();
        await until(async () => true, 1000, 1000); // the streams open
        const res = await fetch(hub + '/players/sign-in', {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ game: 'ExVenture', name: 'Newcomer' }),
        });
        if (!res.ok) return `the hub answered ${res.status}`;
        const t = Date.now();
        const shown = await until(async () =>
            (await a.textContent('main')).includes('Newcomer')
            && await figure() === before + 1, 3000, 20);
        await a.screenshot({ path: join(shots, 'live-game.png'),
                             fullPage: true });
        if (!shown) return `not shown within 3 s (home: ${await figure()}, `
                           + `was ${before})`;
        const ms = Date.now() - t;
        console.log(`# presence shown after ${ms} ms`);
        return ms <= 1000 || `shown after ${ms} ms`;
    });

    await step('one session sends through the chat form, the other shows '
               + 'it', async () => {
        await a.goto(site + '/sign-in?next=/chat/gossip');
        await a.fill('input[name=login]', user);
        await a.fill('input[name=password]', password);
        await Promise.all([a.waitForURL(/\/chat\/gossip/),
                           a.click('form.stack button[type=submit]')]);
        // the other session watches #gossip (the last step took it away)
        const res = await b.goto(site + '/chat/gossip');
        if (res.status() !== 200) return `status ${res.status()}`;
        if (!await until(async () => await b.isVisible('p.live'), 5000, 50))
            return 'the other page did not say it is live';
        const form = a.locator('form[action="/chat/gossip"]');
        if (await form.count() < 1) return 'no chat form on the page';
        const text = `from the site ${Date.now()}`;
        await form.first().locator('textarea, input[type=text]').first()
            .fill(text);
        await form.first().locator('button[type=submit], input[type=submit]')
            .first().click();
        const ms = await seen([b], text);
        if (ms === null) return 'not shown on the other page within 3 s';
        return ms <= 1000 || `shown after ${ms} ms`;
    });

    await step('a message on the hub: the chat index shows the channel\'s '
               + 'new count without a reload', async () => {
        const res = await b.goto(site + '/chat');
        if (res.status() !== 200) return `status ${res.status()}`;
        const count = async () => {
            const card = b.locator('li.card', { hasText: '#gossip' });
            const m = /(\d+) message/.exec(await card.first().textContent());
            return m ? Number(m[1]) : null;
        };
        const before = await count();
        if (before === null) return 'no count for #gossip';
        await until(async () => true, 1000, 1000); // the stream opens
        const hubres = await fetch(hub + '/broadcast', {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ channel: 'gossip', game: 'ExVenture',
                                   name: 'Amy', message: 'to the index' }),
        });
        if (!hubres.ok) return `the hub answered ${hubres.status}`;
        const t = Date.now();
        const shown = await until(async () => await count() === before + 1,
                                  3000, 20);
        if (!shown) return `still ${await count()} after 3 s (was ${before})`;
        const ms = Date.now() - t;
        console.log(`# the index counted it after ${ms} ms`);
        return ms <= 1000 || `counted after ${ms} ms`;
    });

    await step('no script error and no Content-Security-Policy violation',
               async () => errors.length === 0 || errors.join('; '));
} finally {
    await one.close();
    await two.close();
}

process.exit(failures() ? 1 : 0);

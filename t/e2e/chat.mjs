// Web chat in a real browser with script turned off: the chat form works
// as a plain form (post, redirect, get).  Run by t/036-site-chat-e2e.t,
// which starts the Gossip test hub and nginx first:
//
//   node t/e2e/chat.mjs SITE_URL HUB_CONTROL_URL SCREENSHOT_DIR
//
// Prints one line per step, "ok - <step>" or "not ok - <step>: <why>", and
// exits 1 when a step failed.  Screenshots go to SCREENSHOT_DIR.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ok, step, until, failures, browser } from './tap.mjs';

const [site, hub, shots] = process.argv.slice(2);
if (!site || !hub || !shots) {
    console.error('usage: chat.mjs SITE_URL HUB_CONTROL_URL SCREENSHOT_DIR');
    process.exit(2);
}

mkdirSync(shots, { recursive: true });

const user = 'chat' + Date.now().toString(36);
const line = `Hello from ${user}, without script`;

const browsing = await browser('chat', { javaScriptEnabled: false });
const page = browsing.context.pages()[0]
             ?? await browsing.context.newPage();
page.setDefaultTimeout(10000);

const errors = [];
page.on('dialog', d => { errors.push('dialog: ' + d.message()); d.dismiss(); });

async function shot(name) {
    await page.screenshot({ path: join(shots, `${name}.png`),
                            fullPage: true });
}

// how many times the history shows the line
async function shown(text) {
    const texts = await page.locator('ol.messages .text').allTextContents();
    return texts.filter(t => t === text).length;
}

async function send(text) {
    await page.fill('#send input[name=text]', text);
    await Promise.all([page.waitForLoadState('load'),
                       page.click('#send button[type=submit]')]);
}

try {
    await step('script is off', async () => {
        await page.setContent('<p id="x">off</p><script>'
                              + 'document.getElementById("x").textContent'
                              + ' = "on";</script>');
        return (await page.textContent('#x')) === 'off' || 'a script ran';
    });

    await step('signed out: no form, a link to sign in', async () => {
        await page.goto(site + '/chat/gossip');
        if (await page.locator('#send').count()) return 'a form';
        return (await page.locator('a[href="/sign-in?next=/chat/gossip"]')
                    .count()) === 1 || 'no link';
    });

    await step('sign up', async () => {
        await page.goto(site + '/register');
        await page.fill('input[name=username]', user);
        await page.fill('input[name=email]', `${user}@example.org`);
        await page.fill('input[name=password]', 'correct horse battery');
        await page.fill('input[name=password_confirmation]',
                        'correct horse battery');
        await Promise.all([page.waitForURL(/\/manage\/characters/),
                           page.click('form.stack button[type=submit]')]);
        return true;
    });

    await step('the channel page has the form', async () => {
        await page.goto(site + '/chat/gossip');
        await shot('chat-form');
        return (await page.locator('#send input[name=text]').count()) === 1
               || 'no form';
    });

    await step('send: post, redirect, the message on the page', async () => {
        await send(line);
        if (!page.url().endsWith('/chat/gossip')) return `at ${page.url()}`;
        await shot('chat-sent');
        const n = await shown(line);
        if (n !== 1) return `shown ${n} times`;
        const who = await page.locator('ol.messages li', { hasText: line })
                              .locator('.who').textContent();
        return who === `${user}@Grapevine` || `from "${who}"`;
    });

    await step('a reload sends nothing again', async () => {
        await page.reload();
        return (await shown(line)) === 1 || 'shown twice';
    });

    await step('the hub got it as channels/send', async () => {
        const got = await until(async () => {
            const frames = await (await fetch(hub + '/frames')).json();
            return frames.find(f => f.frame && f.frame.event === 'channels/send'
                                    && f.frame.payload.message === line);
        });
        if (!got) return 'not at the hub';
        return got.frame.payload.name === user
               || `name "${got.frame.payload.name}"`;
    });

    await step('white space only: the form again, saying why', async () => {
        await send('   ');
        await shot('chat-empty');
        const text = await page.textContent('#send');
        return text.includes('Write something to send.') || 'no reason';
    });

    await step('too long: the form again with the text', async () => {
        const long = 'x'.repeat(501);
        await send(long);
        const text = await page.textContent('#send');
        if (!text.includes('The message is too long.')) return 'no reason';
        return (await page.inputValue('#send input[name=text]')) === long
               || 'the text is lost';
    });

    ok(errors.length === 0, 'no dialog', errors.join('; '));
} finally {
    await browsing.close();
}

process.exit(failures() ? 1 : 0);

// Raisin in a real browser: headless Chromium (Debian's /usr/bin/chromium)
// driven by playwright-core.  Run by t/043-raisin-e2e.t, which starts the
// Gossip test hub and nginx, makes the moderator's account and has the
// hub's players talk on #gossip first:
//
//   node t/e2e/raisin.mjs SITE_URL SCREENSHOT_DIR USERNAME PASSWORD \
//        MESSAGE_ID MESSAGE_TEXT OTHER_TEXT
//
// The moderator signs in, follows the header's Raisin link, opens the
// channel's log, hides MESSAGE_ID with a reason, and the public /chat page
// and the API no longer show it (OTHER_TEXT stays).  Prints one line per
// step, "ok - <step>" or "not ok - <step>: <why>", and exits 1 when a step
// failed.  Screenshots go to SCREENSHOT_DIR (raisin-*.png) on every run.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ok, step, failures, browser } from './tap.mjs';

const [site, shots, user, password, id, text, other] = process.argv.slice(2);
if (!site || !shots || !user || !password || !id || !text || !other) {
    console.error('usage: raisin.mjs SITE_URL SCREENSHOT_DIR USERNAME '
                  + 'PASSWORD MESSAGE_ID MESSAGE_TEXT OTHER_TEXT');
    process.exit(2);
}

mkdirSync(shots, { recursive: true });

const reason = 'Selling gold is spam (e2e)';

const browsing = await browser('raisin-e2e');
const context = browsing.context;

const page = context.pages()[0] ?? await context.newPage();
page.setDefaultTimeout(10000);

const errors = [];
page.on('pageerror', e => errors.push(String(e)));
page.on('dialog', d => { errors.push('dialog: ' + d.message()); d.dismiss(); });

async function shot(name) {
    await page.screenshot({ path: join(shots, `raisin-${name}.png`),
                            fullPage: true });
}

try {
    await step('signed out, /raisin/ leads to the sign-in page', async () => {
        await page.goto(site + '/raisin/');
        await shot('signed-out');
        const url = new URL(page.url());
        return (url.pathname === '/sign-in'
                && url.searchParams.get('next') === '/raisin/')
               || `landed on ${page.url()}`;
    });

    await step('the moderator signs in and comes back to Raisin', async () => {
        await page.fill('input[name=login]', user);
        await page.fill('input[name=password]', password);
        await Promise.all([page.waitForURL(u => new URL(u).pathname
                                                === '/raisin/'),
                           page.click('form.stack button[type=submit]')]);
        await shot('index');
        return (await page.textContent('header')).includes(user)
               || 'not signed in';
    });

    await step('the header has a Raisin link', async () => {
        await page.goto(site + '/');
        const link = page.locator('header a[href="/raisin/"]');
        if (await link.count() !== 1) return 'no Raisin link in the header';
        await Promise.all([page.waitForURL(site + '/raisin/'), link.click()]);
        return true;
    });

    await step('/raisin/ lists the channels', async () => {
        const res = await page.goto(site + '/raisin/');
        if (res.status() !== 200) return `status ${res.status()}`;
        const body = await page.textContent('main');
        return body.includes('gossip') || 'gossip is not listed';
    });

    await step('open the channel\'s log', async () => {
        const link = page.locator('main a[href^="/raisin/channels/gossip"]')
                         .first();
        if (await link.count() === 0) return 'no link to the gossip log';
        await Promise.all([page.waitForURL(/\/raisin\/channels\/gossip/),
                           link.click()]);
        await shot('channel');
        const body = await page.textContent('main');
        if (!body.includes(text)) return `the log lacks "${text}"`;
        return body.includes(other) || `the log lacks "${other}"`;
    });

    await step('hide the message with a reason', async () => {
        const form = page.locator(`form[action="/raisin/messages/${id}/hide"]`);
        if (await form.count() !== 1) return `no hide form for message ${id}`;
        const field = form.locator('[name=reason]');
        if (await field.count() !== 1) return 'the form has no reason field';
        if (!await field.isVisible()) {
            // folded away, as in a <details>: open it as a person would
            const summary = form.locator('xpath=ancestor::details[1]/summary');
            if (await summary.count() !== 1) return 'the reason field is '
                                                    + 'hidden for good';
            await summary.click();
        }
        await field.fill(reason);
        await Promise.all([
            page.waitForURL(/\/raisin\/channels\/gossip/),
            form.locator('button[type=submit], input[type=submit]').first()
                .click(),
        ]);
        await shot('hidden');
        const unhide = page.locator(
            `form[action="/raisin/messages/${id}/unhide"]`);
        if (await unhide.count() !== 1) return 'no unhide form afterwards';
        return (await page.textContent('main')).includes(text)
               || 'the hidden message left Raisin\'s log';
    });

    await step('the public chat no longer shows it', async () => {
        const res = await page.goto(site + '/chat/gossip');
        await shot('public-chat');
        if (res.status() !== 200) return `status ${res.status()}`;
        const body = await page.textContent('main');
        if (body.includes(text)) return `"${text}" is still public`;
        return body.includes(other) || `"${other}" went too`;
    });

    await step('nor does the API', async () => {
        const res = await page.request.get(
            site + '/api/channels/gossip/messages');
        if (res.status() !== 200) return `status ${res.status()}`;
        const json = await res.json();
        const ids = (json.items || []).map(m => String(m.id));
        if (ids.includes(String(id))) return `message ${id} is in the API`;
        return ids.length > 0 || 'the API lost every message';
    });

    await step('the audit log has the reason', async () => {
        const res = await page.goto(site + '/raisin/audit');
        await shot('audit');
        if (res.status() !== 200) return `status ${res.status()}`;
        const body = await page.textContent('main');
        return (body.includes(reason) && body.includes(user))
               || 'the audit log lacks the row';
    });

    await step('the other pages render', async () => {
        for (const [name, path] of [['mutes', '/raisin/mutes'],
                                    ['users', '/raisin/users'],
                                    ['user', `/raisin/users/${user}`]]) {
            const res = await page.goto(site + path);
            await shot(name);
            if (res.status() !== 200) return `${path}: ${res.status()}`;
        }
        return true;
    });

    await step('on a phone', async () => {
        await page.setViewportSize({ width: 390, height: 844 });
        for (const [name, path] of [['phone-index', '/raisin/'],
                                    ['phone-channel',
                                     '/raisin/channels/gossip']]) {
            const res = await page.goto(site + path);
            await shot(name);
            if (res.status() !== 200) return `${path}: ${res.status()}`;
        }
        return true;
    });

    ok(errors.length === 0, 'no script error or dialog', errors.join('; '));
} finally {
    await browsing.close();
}

process.exit(failures() ? 1 : 0);

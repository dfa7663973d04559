// The site in a real browser: headless Chromium (Debian's /usr/bin/chromium)
// driven by playwright-core.  Run by t/033-site-e2e.t, which starts the
// Gossip test hub and nginx first:
//
//   node t/e2e/site.mjs SITE_URL HUB_CONTROL_URL SCREENSHOT_DIR
//
// Prints one line per step, "ok - <step>" or "not ok - <step>: <why>", and
// exits 1 when a step failed.  Screenshots of the main pages, on a desktop
// and on a phone, go to SCREENSHOT_DIR on every run.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ok, step, until, failures, browser } from './tap.mjs';

const [site, hub, shots] = process.argv.slice(2);
if (!site || !hub || !shots) {
    console.error('usage: site.mjs SITE_URL HUB_CONTROL_URL SCREENSHOT_DIR');
    process.exit(2);
}

mkdirSync(shots, { recursive: true });

const user = 'e2e' + Date.now().toString(36);

const browsing = await browser('e2e');
const context = browsing.context;

const page = context.pages()[0] ?? await context.newPage();
page.setDefaultTimeout(10000);

const errors = [];
page.on('pageerror', e => errors.push(String(e)));
page.on('dialog', d => { errors.push('dialog: ' + d.message()); d.dismiss(); });

async function shot(name) {
    await page.screenshot({ path: join(shots, `${name}.png`),
                            fullPage: true });
}

try {
    let key;

    await step('the home page', async () => {
        const res = await page.goto(site + '/');
        if (res.status() !== 200) return `status ${res.status()}`;
        await shot('home');
        return (await page.title()).includes('Grapevine') || 'no title';
    });

    await step('sign up', async () => {
        await page.goto(site + '/register');
        await shot('register');
        await page.fill('input[name=username]', user);
        await page.fill('input[name=email]', `${user}@example.org`);
        await page.fill('input[name=password]', 'correct horse battery');
        await page.fill('input[name=password_confirmation]',
                        'correct horse battery');
        await Promise.all([page.waitForURL(/\/manage\/characters/),
                           page.click('form.stack button[type=submit]')]);
        const text = await page.textContent('main');
        return text.includes(`Welcome, ${user}!`) || 'no welcome';
    });

    await step('read the registration key on the page', async () => {
        key = (await page.textContent('#registration-key')).trim();
        const instruction = (await page.textContent('#instruction')).trim();
        await shot('characters-empty');
        if (!/^[0-9a-f-]{36}$/.test(key)) return `key "${key}"`;
        return instruction === `tell system@Grapevine register ${key}`
               || `instruction "${instruction}"`;
    });

    await step('Zed in ExVenture tells system@Grapevine', async () => {
        const res = await fetch(hub + '/tell', {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ from_game: 'ExVenture', from_name: 'Zed',
                                   to_game: 'Grapevine', to_name: 'system',
                                   message: `register ${key}` }),
        });
        return res.status === 200 || `hub answered ${res.status}`;
    });

    await step('the pending character appears', async () => {
        const found = await until(async () => {
            await page.reload();
            return (await page.textContent('#pending')).includes('Zed');
        });
        await shot('characters-pending');
        if (!found) return 'Zed is not pending';
        const next = (await page.textContent('#registration-key')).trim();
        return next !== key || 'the key did not change';
    });

    await step('approve it', async () => {
        const row = page.locator('#pending li', { hasText: 'Zed' });
        await Promise.all([page.waitForURL(/\/manage\/characters$/),
                           row.getByRole('button', { name: 'Approve' })
                              .click()]);
        await shot('characters-approved');
        const approved = await page.textContent('#approved');
        return approved.includes('Zed') || 'Zed is not approved';
    });

    await step('the public profile shows it', async () => {
        const res = await page.goto(`${site}/users/${user}`);
        await shot('profile');
        const text = await page.textContent('main');
        return (res.status() === 200 && text.includes('Zed')
                && text.includes('ExVenture')) || 'not on the profile';
    });

    await step('the game page shows it', async () => {
        await page.goto(site + '/games/ExVenture');
        await shot('game');
        const text = await page.textContent('main');
        return text.includes(`Zed (${user})`) || 'not on the game page';
    });

    await step('/api/characters/ExVenture/Zed shows it', async () => {
        const res = await page.request.get(site + '/api/characters/ExVenture/Zed');
        if (res.status() !== 200) return `status ${res.status()}`;
        const body = await res.text();
        return body.includes(user) || `no ${user} in ${body.slice(0, 200)}`;
    });

    await step('the hub received the success reply', async () => {
        const frames = await until(async () => {
            const res = await fetch(hub + '/frames');
            const list = await res.json();
            return list.find(f => f.frame && f.frame.event === 'tells/send'
                && f.frame.payload.to_game === 'ExVenture'
                && f.frame.payload.to_name === 'Zed'
                && f.frame.payload.message === 'User registration initiated.'
                   + ' Check your profile to complete registration!');
        });
        return !!frames || 'no tells/send to Zed with the success text';
    });

    await step('the other pages render', async () => {
        for (const [name, path] of [['games', '/games'], ['chat', '/chat'],
                                    ['settings', '/manage/settings'],
                                    ['not-found', '/no/such/page']]) {
            await page.goto(site + path);
            await shot(name);
        }
        return true;
    });

    await step('sign out, then sign in', async () => {
        await Promise.all([page.waitForURL(site + '/'),
                           page.click('form[action="/sign-out"] button')]);
        await page.goto(site + '/sign-in');
        await shot('sign-in');
        await page.fill('input[name=login]', user);
        await page.fill('input[name=password]', 'correct horse battery');
        await Promise.all([page.waitForURL(/\/manage\/characters/),
                           page.click('form.stack button[type=submit]')]);
        return (await page.textContent('header')).includes(user)
               || 'not signed in';
    });

    await step('on a phone', async () => {
        await page.setViewportSize({ width: 390, height: 844 });
        for (const [name, path] of [['phone-home', '/'],
                                    ['phone-game', '/games/ExVenture'],
                                    ['phone-characters',
                                     '/manage/characters']]) {
            await page.goto(site + path);
            await shot(name);
            const wide = await page.evaluate(
                () => document.documentElement.scrollWidth);
            if (wide > 390) return `${path} is ${wide}px wide on a phone`;
        }
        return true;
    });

    ok(errors.length === 0, 'no script error or dialog',
       errors.join('; '));
} finally {
    await browsing.close();
}

process.exit(failures() ? 1 : 0);

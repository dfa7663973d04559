// What the browser scripts share: TAP-like steps ("ok - <step>" or
// "not ok - <step>: <why>", with each step's time as a comment), polling,
// and a headless Chromium (Debian's /usr/bin/chromium, or $CHROMIUM) with a
// throw-away profile.

import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let failed = 0;

export function failures() {
    return failed;
}

export function ok(cond, step, why) {
    if (cond) {
        console.log(`ok - ${step}`);
    } else {
        failed++;
        console.log(`not ok - ${step}: ${why ?? 'failed'}`);
    }
    return cond;
}

// fn returns undefined or true for success, or a string saying what is wrong
export async function step(name, fn) {
    const t = Date.now();
    try {
        const why = await fn();
        ok(why === undefined || why === true, name, why);
    } catch (e) {
        ok(false, name, String(e && e.message || e).split('\n')[0]);
    }
    console.log(`# ${name}: ${Date.now() - t} ms`);
}

// fn's first truthy value, or its last one after ms
export async function until(fn, ms = 10000, every = 200) {
    const end = Date.now() + ms;
    for (;;) {
        const v = await fn();
        if (v) return v;
        if (Date.now() > end) return v;
        await new Promise(r => setTimeout(r, every));
    }
}

// a browser context of its own; close() also removes the profile.
// options: more of playwright's context options ({javaScriptEnabled:
// false} for a browser without script)
export async function browser(name, options = {}) {
    const profile = mkdtempSync(join(tmpdir(), `grapevine-${name}-`));
    const launched = Date.now();
    const context = await chromium.launchPersistentContext(profile, {
        executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
               '--no-first-run', '--disable-background-networking',
               '--disable-component-update', '--disable-sync'],
        viewport: { width: 1280, height: 900 },
        timeout: 30000,
        ...options,
    });

    console.log(`# chromium started in ${Date.now() - launched} ms`);

    return {
        context,
        async close() {
            await context.close();
            rmSync(profile, { recursive: true, force: true });
        },
    };
}

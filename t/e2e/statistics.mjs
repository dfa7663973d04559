// The charts of players online in a real browser: headless Chromium
// driven by playwright-core.  Run by t/071-statistics-e2e.t, which fills
// in a game's statistics (a peak, a gap) and starts nginx first:
//
//   node t/e2e/statistics.mjs SITE_URL PEAK SCREENSHOT_DIR
//
// Prints one line per step, "ok - <step>" or "not ok - <step>: <why>", and
// exits 1 when a step failed.  Screenshots of the game page's chart, on a
// desktop and on a phone, go to SCREENSHOT_DIR.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ok, step, failures, browser } from './tap.mjs';

const [site, peak, shots] = process.argv.slice(2);
if (!site || !peak || !shots) {
    console.error('usage: statistics.mjs SITE_URL PEAK SCREENSHOT_DIR');
    process.exit(2);
}

mkdirSync(shots, { recursive: true });

const browsing = await browser('statistics');
const page = browsing.context.pages()[0] ?? await browsing.context.newPage();
page.setDefaultTimeout(10000);

const errors = [];
page.on('pageerror', e => errors.push(String(e)));
// what the Content-Security-Policy refuses is a console error (a missing
// favicon too, which is none of this test's business)
page.on('console', m => {
    if (m.type() === 'error' && /Content Security Policy|Refused/.test(m.text()))
        errors.push(m.text());
});

// what the chart on the page shows
async function chart() {
    return page.evaluate(() => {
        const svg = document.querySelector('figure.chart svg');
        if (!svg) return null;
        const box = svg.getBoundingClientRect();
        return {
            viewBox: svg.getAttribute('viewBox'),
            width: box.width,
            height: box.height,
            lines: [...svg.querySelectorAll('path.chart-line')]
                .map(p => p.getAttribute('d')),
            drawn: [...svg.querySelectorAll('path.chart-line')]
                .map(p => p.getTotalLength()),
            peak: svg.querySelector('.chart-peak-label')?.textContent,
            labels: [...svg.querySelectorAll('.chart-label')]
                .map(t => t.textContent),
            summary: document.querySelector('.chart-summary')
                ?.textContent.replace(/\s+/g, ' ').trim(),
            // the chart needs none: none in it, and the page's only one is
            // the layout's live-update script (same origin)
            scripts: svg.querySelectorAll('script').length
                + (document.querySelector('section.stats')
                       ?.querySelectorAll('script').length ?? 0)
                + [...document.querySelectorAll('script')]
                      .filter(e => e.getAttribute('src')
                                   !== '/static/live.js').length,
            scroll: document.documentElement.scrollWidth,
        };
    });
}

try {
    await step('the game page has an inline SVG chart', async () => {
        const res = await page.goto(site + '/games/ExVenture');
        if (res.status() !== 200) return `status ${res.status()}`;
        const c = await chart();
        if (!c) return 'no svg';
        if (c.viewBox !== '0 0 720 240') return `viewBox ${c.viewBox}`;
        if (c.scripts) return `${c.scripts} script elements`;
        await page.locator('section.stats').screenshot({
            path: join(shots, 'chart-desktop.png') });
        return c.width > 600 || `only ${c.width}px wide`;
    });

    await step('the gap splits the line: two paths, both drawn', async () => {
        const c = await chart();
        if (c.lines.length !== 2) return `${c.lines.length} paths`;
        if (!c.lines.every(d => /^M[\d.]+ [\d.]+( L[\d.]+ [\d.]+)+$/.test(d)))
            return `paths ${c.lines.join(' | ')}`;
        return c.drawn.every(n => n > 10) || `lengths ${c.drawn}`;
    });

    await step('the peak is marked', async () => {
        const c = await chart();
        return c.peak === `peak ${peak}` || `"${c.peak}"`;
    });

    await step('the axes: times in UTC, players', async () => {
        const c = await chart();
        if (!c.labels.includes('UTC')) return 'no UTC';
        if (!c.labels.some(l => /^\d\d:00$/.test(l))) return 'no hour';
        return c.labels.includes('0') || `labels ${c.labels}`;
    });

    await step('the summary says peak, average and now', async () => {
        const c = await chart();
        const re = new RegExp(`^Peak ${peak} at \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d `
                              + 'UTC; average [\\d.]+; now \\d+\\.');
        return re.test(c.summary) || `"${c.summary}"`;
    });

    await step('the 7 days tab', async () => {
        await Promise.all([page.waitForURL(/period=7d/),
                           page.click('nav.tabs a:has-text("7 days")')]);
        const active = await page.textContent('nav.tabs a.active');
        const c = await chart();
        if (active !== '7 days') return `active "${active}"`;
        return (c && c.lines.length >= 1) || 'no line';
    });

    await step('on a phone: the chart fits the screen', async () => {
        await page.setViewportSize({ width: 390, height: 844 });
        await page.goto(site + '/games/ExVenture');
        const c = await chart();
        await page.locator('section.stats').screenshot({
            path: join(shots, 'chart-phone.png') });
        await page.screenshot({ path: join(shots, 'phone-game-chart.png'),
                                fullPage: true });
        if (c.scroll > 390) return `the page is ${c.scroll}px wide`;
        if (c.width > 390 || c.width < 300) return `${c.width}px wide`;
        return Math.abs(c.height / c.width - 240 / 720) < 0.02
               || `${c.width} x ${c.height}: not the viewBox's shape`;
    });

    await step('a game that hides its players shows no chart', async () => {
        await page.setViewportSize({ width: 1280, height: 900 });
        const res = await page.goto(site + '/games/Secret');
        if (res.status() !== 200) return `status ${res.status()}`;
        return (await chart()) === null || 'a chart';
    });

    await step('the home page: the network chart', async () => {
        await page.goto(site + '/');
        const c = await chart();
        await page.locator('section.stats').screenshot({
            path: join(shots, 'chart-home.png') });
        return (c && c.lines.length === 2) || 'no chart';
    });

    ok(errors.length === 0, 'no script error, nothing refused by the CSP',
       errors.join('; '));
} finally {
    await browsing.close();
}

process.exit(failures() ? 1 : 0);

// The supervisors' pages in a real browser (headless Chromium through
// playwright-core), against a live `jishi demo`: a township leader logs in,
// opens a cadre's timeline, comments on a diary (a second window on the
// timeline hears of it live), fills a monthly review,
// and the public weekly publication shows the week's entries with photos;
// the leader corrects and then withdraws it, and the public pages show the
// versions, the superseded one, the notice board and the withdrawal.
// Usage: node scenario.mjs <base-url> <login> <password> <publication-path>
//        <review-month> <screenshot-dir>
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import jsQR from 'jsqr';
import { PNG } from 'pngjs';

const [base, login, password, publication, month, shots, big] = process.argv.slice(2);
if (!shots || !big) {
  console.error('usage: node scenario.mjs <base-url> <login> <password> <publication-path> <review-month> <screenshot-dir> <40-cadre-publication-path>');
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
const step = (s) => console.error(`[browser] ${s}`);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
let failed = false;
const page = await browser.newPage({ viewport: { width: 1100, height: 900 }, locale: 'zh-CN' });
page.setDefaultTimeout(20000);
const errors = [];
page.on('pageerror', (e) => errors.push(String(e)));
try {
  step('a page without a session leads to the login form');
  await page.goto(`${base}/web/`);
  assert.match(page.url(), /\/web\/login\?next=/);
  assert.equal(await page.locator('html').getAttribute('lang'), 'zh-CN');

  step('a wrong password is refused in Chinese');
  await page.fill('#login', login);
  await page.fill('#password', 'not-the-password');
  await page.click('#submit');
  assert.match(await page.locator('#login-error').innerText(), /用户名或密码错误/);

  step(`${login} logs in and sees the unit tree with filing rates`);
  await page.fill('#login', login);
  await page.fill('#password', password);
  await page.click('#submit');
  await page.waitForURL(`${base}/web/`);
  const units = page.locator('#units tr');
  assert.ok((await units.count()) >= 3, 'the township and its villages are listed');
  assert.match(await page.locator('#units').innerText(), /%/);
  await page.screenshot({ path: `${shots}/1-units.png`, fullPage: true });

  step('the township, last week, then a cadre with records');
  await page.locator('#units a').first().click();
  await page.waitForSelector('#people');
  const leaderUnit = page.url().split('?')[0].split('/').pop();
  const week = publication.split('/').pop();
  await page.goto(`${page.url().split('?')[0]}?week=${week}`);
  const people = page.locator('#people tr td:first-child a');
  assert.ok((await people.count()) > 0, 'the township has cadres');
  // The first cadre with at least one day filed.
  const rows = page.locator('#people tr');
  let opened = false;
  for (let i = 1; i < (await rows.count()); i++) {
    const filed = Number(await rows.nth(i).locator('td').nth(2).innerText());
    if (filed > 0) {
      await rows.nth(i).locator('a').first().click();
      opened = true;
      break;
    }
  }
  assert.ok(opened, 'some cadre filed last week');
  await page.waitForSelector('.day');
  const diary = page.locator('.diary').first();
  assert.ok((await diary.locator('.entry').count()) > 0, 'the diary shows its entries');
  const photos = page.locator('.diary .photos img');
  if ((await photos.count()) > 0) {
    await photos.first().scrollIntoViewIfNeeded();
    await page.waitForFunction((img) => img.complete && img.naturalWidth > 0, await photos.first().elementHandle());
  }
  await page.screenshot({ path: `${shots}/2-timeline.png`, fullPage: false });

  step('a comment on the diary goes into the document and shows at once');
  const text = `请补充走访户数（浏览器测试 ${Date.now()}）`;
  await diary.locator('textarea[name=text]').fill(text);
  await diary.locator('button[type=submit]').click();
  await page.waitForLoadState('load');
  assert.match(page.url(), /#diary-/);
  const comment = page.locator('.comment', { hasText: text });
  await comment.waitFor();
  await comment.scrollIntoViewIfNeeded();
  await page.screenshot({ path: `${shots}/3-commented.png` });

  step('a second window on the same timeline hears of the next comment and offers a reload');
  // Another window of the same session (the session cookie copied over).
  const watching = await browser.newContext({ viewport: { width: 1100, height: 900 }, locale: 'zh-CN' });
  await watching.addCookies(await page.context().cookies());
  const watcher = await watching.newPage();
  watcher.setDefaultTimeout(20000);
  watcher.on('pageerror', (e) => errors.push(String(e)));
  await watcher.goto(page.url());
  assert.equal(await watcher.locator('#live-update').isVisible(), false, 'no notice before a change');
  await watcher.waitForFunction(() => window.jishiEvents && window.jishiEvents.readyState === 1);
  const second = `第二条点评（浏览器测试 ${Date.now()}）`;
  await diary.locator('textarea[name=text]').fill(second);
  const posted = Date.now();
  await diary.locator('button[type=submit]').click();
  await watcher.locator('#live-update').waitFor({ state: 'visible' });
  step(`  the notice showed ${Date.now() - posted} ms after the comment was posted`);
  assert.match(await watcher.locator('#live-update').innerText(), /有新的纪实记录/);
  await watcher.screenshot({ path: `${shots}/3b-live-update.png` });
  await watcher.click('#live-reload');
  await watcher.locator('.comment', { hasText: second }).waitFor();
  await watching.close();
  await page.locator('.comment', { hasText: second }).waitFor();

  step(`the monthly review of ${month}: fill a review form`);
  const township = (await page.locator('h1 a').first().getAttribute('href')).split('/').pop();
  await page.goto(`${base}/web/units/${township}/reviews/${month}`);
  // Up the tree if the cadre's own unit is a village: the leader's township.
  if ((await page.locator('.review-form').count()) === 0) {
    const top = (await page.locator('#units a').count()) > 0;
    assert.ok(top, 'a review form is on the page');
  }
  const form = page.locator('.review-form').first();
  await form.locator('input[name=targets]').fill('150');
  await form.locator('input[name=conduct]').fill('18');
  // The browser's own check (max=80) stops the form; bypass it to see ours.
  await form.evaluate((f) => f.setAttribute('novalidate', ''));
  await form.locator('button[type=submit]').click();
  await page.waitForSelector('#review-message');
  assert.match(await page.locator('#review-message').innerText(), /0 到 80/);
  const again = page.locator('.review-form').first();
  await again.locator('input[name=targets]').fill('76');
  await again.locator('input[name=conduct]').fill('18');
  await again.locator('textarea[name=comment]').fill('走访扎实，记录完整。（浏览器测试）');
  await again.locator('button[type=submit]').click();
  await page.waitForSelector('#review-message');
  assert.match(await page.locator('#review-message').innerText(), /已保存/);
  assert.match(await page.locator('#ranking').innerText(), /94/);
  await page.screenshot({ path: `${shots}/4-review.png`, fullPage: true });

  step('the public weekly publication, on a phone screen, with its photos');
  const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, locale: 'zh-CN' });
  await phone.goto(`${base}${publication}`);
  assert.match(await phone.locator('h1').innerText(), /周公示/);
  assert.ok((await phone.locator('.entry').count()) > 0, 'the week has entries');
  const imgs = phone.locator('.photos img');
  assert.ok((await imgs.count()) > 0, 'the publication shows photos');
  for (const img of (await imgs.all()).slice(0, 3)) {
    await img.scrollIntoViewIfNeeded();
    await phone.waitForFunction((el) => el.complete && el.naturalWidth > 0, await img.elementHandle());
  }
  await phone.evaluate(() => window.scrollTo(0, 0));
  await phone.screenshot({ path: `${shots}/5-publication-phone.png` });
  const wide = await phone.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1);
  assert.ok(wide, 'the publication fits a phone screen without sideways scrolling');

  step('the publication as a notice: summary table first, an index on the phone, A4 print');
  const cadres = await phone.locator('section.cadre').count();
  assert.ok(cadres > 0, 'the publication lists cadres');
  assert.equal(await phone.locator('#summary tbody tr').count(), cadres + 1, 'one summary row per cadre and the totals');
  assert.equal(await phone.locator('nav.index a').count(), cadres, 'an index of cadres on the phone');
  assert.doesNotMatch(await phone.locator('article').innerText(), /\d{4}-W\d\d|\d{4}-\d\d-\d\d/, 'no ISO dates or weeks in the text');
  await phone.emulateMedia({ media: 'print' });
  assert.equal(await phone.locator('nav.index').isVisible(), false, 'no index in print');
  const pages = (pdf) => (pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g) || []).length;
  const whole = await phone.pdf({ format: 'A4', printBackground: true });
  await phone.addStyleTag({ content: '.details { display: none !important; }' });
  const summaryOnly = await phone.pdf({ format: 'A4', printBackground: true });
  assert.equal(pages(summaryOnly), 1, 'the summary fits one A4 page');
  assert.ok(pages(whole) >= 2, `the details follow on their own pages (${pages(whole)} pages)`);
  writeFileSync(`${shots}/5-publication.pdf`, whole);

  step('a township of 40 cadres: the summary still fits one A4 page');
  const print = await browser.newPage({ locale: 'zh-CN' });
  await print.goto(`${base}${big}`);
  assert.equal(await print.locator('#summary tbody tr').count(), 41, '40 cadres and the totals');
  await print.emulateMedia({ media: 'print' });
  const bigWhole = await print.pdf({ format: 'A4' });
  await print.addStyleTag({ content: '.details { display: none !important; }' });
  const bigSummary = await print.pdf({ format: 'A4' });
  assert.equal(pages(bigSummary), 1, `40 summary rows on one A4 page (${pages(bigSummary)} pages)`);
  writeFileSync(`${shots}/6-publication-40.pdf`, bigWhole);
  await print.close();

  step('the leader corrects the notice through the web page: a new version, the first kept and marked');
  // The leader's own township's notice of the same week.
  const [pubUnit, pubWeek] = [leaderUnit, week];
  const notice = `/p/${pubUnit}/${pubWeek}`;
  const manage = await page.goto(`${base}/web/units/${pubUnit}/weeks/${pubWeek}`);
  assert.equal(manage.status(), 200, 'the leader oversees the first township');
  await page.fill('#amend textarea[name=reason]', '补录走访户数（浏览器测试）');
  await page.click('#correct');
  await page.waitForLoadState('load');
  assert.match(await page.locator('#preview-bar').innerText(), /现行为第\d+版/);
  await phone.emulateMedia({ media: 'screen' });
  await phone.goto(`${base}${notice}`);
  const history = phone.locator('#versions');
  assert.match(await history.innerText(), /补录走访户数（浏览器测试）/);
  assert.match(await history.innerText(), /现行版本/);
  await history.scrollIntoViewIfNeeded();
  await phone.screenshot({ path: `${shots}/7-versions-phone.png` });
  const desk = await browser.newPage({ viewport: { width: 1100, height: 900 }, locale: 'zh-CN' });
  desk.on('pageerror', (e) => errors.push(String(e)));
  await desk.goto(`${base}${notice}`);
  await desk.screenshot({ path: `${shots}/7-notice-desktop.png`, fullPage: false });
  await desk.goto(`${base}${notice}/v/1`);
  assert.match(await desk.locator('#superseded').innerText(), /此为第1版/);
  assert.equal(await desk.locator('.photos img').count(), 0, 'a superseded version shows no photos');
  await desk.screenshot({ path: `${shots}/8-superseded-desktop.png` });
  await phone.goto(`${base}${notice}/v/1`);
  await phone.screenshot({ path: `${shots}/8-superseded-phone.png` });
  await desk.emulateMedia({ media: 'print' });
  await desk.addStyleTag({ content: '.details, .versions { display: none !important; }' });
  const oldSummary = await desk.pdf({ format: 'A4' });
  assert.equal(pages(oldSummary), 1, 'a superseded version prints its summary on one page too');
  writeFileSync(`${shots}/8-superseded.pdf`, await desk.pdf({ format: 'A4' }));

  step('the notice board of the township lists its notices; a withdrawal leaves the reason');
  await desk.emulateMedia({ media: 'screen' });
  await desk.goto(`${base}/p/${pubUnit}`);
  assert.ok((await desk.locator('#notices li').count()) >= 2, 'both weeks are on the board');
  assert.match(await desk.locator('#notices').innerText(), /已更正/);
  await desk.screenshot({ path: `${shots}/9-board-desktop.png` });
  await phone.goto(`${base}/p/${pubUnit}`);
  await phone.screenshot({ path: `${shots}/9-board-phone.png` });
  await page.goto(`${base}/web/units/${pubUnit}/weeks/${pubWeek}`);
  await page.fill('#amend textarea[name=reason]', '内容涉及群众隐私（浏览器测试）');
  await page.click('#withdraw');
  await page.waitForLoadState('load');
  await phone.goto(`${base}${notice}`);
  assert.match(await phone.locator('#withdrawn').innerText(), /撤回原因：内容涉及群众隐私/);
  assert.equal(await phone.locator('.entry').count(), 0, 'nothing of the withdrawn notice is shown');
  await phone.screenshot({ path: `${shots}/10-withdrawn-phone.png` });
  const gone = await phone.goto(`${base}${notice}/v/1`);
  assert.equal(gone.status(), 404);
  assert.match(await phone.locator('#error-title').innerText(), /没有找到这份公示/);
  await phone.screenshot({ path: `${shots}/10-not-found-phone.png` });

  step('the month notices: commitments at the start, progress and reviews at the end; phone, desktop, A4');
  for (const part of ['start', 'end']) {
    const path = `/p/${pubUnit}/${month}-${part}`;
    const r = await desk.goto(`${base}${path}`);
    assert.equal(r.status(), 200, path);
    assert.match(await desk.locator('h1').innerText(), part === 'start' ? /承诺事项公示/ : /工作进展及点评公示/);
    assert.ok((await desk.locator('ol.clauses li').count()) > 0, `${path}: commitments as clauses`);
    assert.doesNotMatch(await desk.locator('article').innerText(), /\d{4}-W\d\d|\d{4}-\d\d-\d\d/, 'no ISO dates in the text');
    assert.match(await desk.locator('#frame').innerText(), /公示期/);
    await desk.screenshot({ path: `${shots}/11-month-${part}-desktop.png` });
    await phone.emulateMedia({ media: 'screen' });
    await phone.goto(`${base}${path}`);
    await phone.screenshot({ path: `${shots}/11-month-${part}-phone.png` });
    const fits = await phone.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1);
    assert.ok(fits, `${path} fits a phone screen without sideways scrolling`);
    await desk.emulateMedia({ media: 'print' });
    const whole = await desk.pdf({ format: 'A4' });
    assert.ok(pages(whole) >= 1);
    writeFileSync(`${shots}/11-month-${part}.pdf`, whole);
    if (part === 'end') {
      assert.ok((await desk.locator('#summary tbody tr').count()) > 0, 'a summary row per cadre');
      await desk.addStyleTag({ content: '.details, .versions { display: none !important; }' });
      assert.equal(pages(await desk.pdf({ format: 'A4' })), 1, 'the month-end summary fits one A4 page');
    }
    await desk.emulateMedia({ media: 'screen' });
  }
  await desk.close();

  step('督办: the leader sees the items waiting for 销号, confirms one, issues one, and prints the month\'s 台账');
  await page.emulateMedia({ media: 'screen' });
  await page.goto(`${base}/web/`);
  await page.click('#nav-items');
  await page.waitForSelector('#items');
  assert.ok((await page.locator('#items tr.item-row').count()) >= 4, 'the demo issued items in every state');
  assert.match(await page.locator('#items').innerText(), /已退回/);
  await page.screenshot({ path: `${shots}/12-items-desktop.png`, fullPage: true });
  await page.locator('#waiting a').first().click();
  await page.waitForSelector('#confirm-form');
  assert.match(await page.locator('#status').innerText(), /待确认销号/);
  assert.ok((await page.locator('#history .step').count()) >= 2, 'progress and the request in the history');
  await page.fill('#confirm-form textarea', '经核实，同意销号（浏览器测试）');
  await page.click('#confirm-form button');
  await page.waitForSelector('#item-message');
  assert.match(await page.locator('#status').innerText(), /已销号/);
  assert.match(await page.locator('#history').innerText(), /同意销号（浏览器测试）/);
  await page.screenshot({ path: `${shots}/12-item-closed.png`, fullPage: true });
  await page.goto(`${base}/web/items/new`);
  await page.fill('#issue-form input[name=title]', '排查独居老人取暖安全（浏览器测试）');
  await page.fill('#issue-form textarea[name=content]', '入冬后逐户排查独居老人取暖设施，消除隐患。');
  await page.fill('#issue-form input[name=workdays]', '3');
  const someone = await page.locator('#issue-form select[name=responsible] option').nth(1).getAttribute('value');
  await page.selectOption('#issue-form select[name=responsible]', someone);
  await page.click('#issue-form button');
  await page.waitForSelector('#item-message');
  assert.match(await page.locator('#item-message').innerText(), /已交办/);
  assert.match(await page.locator('#status').innerText(), /办理中/);
  const thisMonth = new Intl.DateTimeFormat('sv-SE', { timeZone: 'Asia/Shanghai' }).format(new Date()).slice(0, 7);
  const ledger = await page.goto(`${base}/web/units/${leaderUnit}/items/${thisMonth}`);
  assert.equal(ledger.status(), 200);
  assert.match(await page.locator('h1').innerText(), /督办事项台账/);
  assert.ok(Number(await page.locator('#ledger-total th').nth(1).innerText()) >= 5, 'four from the demo and one just issued');
  await page.screenshot({ path: `${shots}/12-ledger-desktop.png`, fullPage: true });
  await page.emulateMedia({ media: 'print' });
  const ledgerPdf = await page.pdf({ format: 'A4' });
  assert.equal(pages(ledgerPdf), 1, 'the month\'s 台账 prints on one A4 page');
  writeFileSync(`${shots}/12-ledger.pdf`, ledgerPdf);
  await page.emulateMedia({ media: 'screen' });

  step('一牌一卡 of the 40-cadre township: a plate each, then four sheets of ten cards');
  const bigUnit = big.split('/')[2];
  const printer = await browser.newPage({ viewport: { width: 900, height: 1200 }, deviceScaleFactor: 3, locale: 'zh-CN' });
  const printed = await printer.goto(`${base}/p/${bigUnit}/cards/print`);
  assert.equal(printed.status(), 200);
  assert.equal(await printer.locator('section.plate').count(), 40);
  await printer.emulateMedia({ media: 'print' });
  const printPdf = await printer.pdf({ preferCSSPageSize: true, printBackground: true });
  writeFileSync(`${shots}/13-cards-print.pdf`, printPdf);
  assert.equal(pages(printPdf), 40 + 4, 'forty A4 plates and four A4 sheets of contact cards');
  await printer.emulateMedia({ media: 'screen' });
  await printer.screenshot({ path: `${shots}/13-cards-print.png`, clip: { x: 0, y: 0, width: 900, height: 1200 } });
  for (const sel of ['section.plate .qr', 'section.sheet .card .qr']) {
    const qr = printer.locator(sel).last();
    const img = PNG.sync.read(await qr.screenshot());
    const code = jsQR(new Uint8ClampedArray(img.data), img.width, img.height);
    assert.ok(code, `the QR code of ${sel} decodes`);
    const card = await qr.locator('xpath=ancestor::*[@data-card][1]').getAttribute('data-card');
    assert.ok(code.data.endsWith(`/c/${card}`), `${sel} leads to its card: ${code.data}`);
    const opened = await printer.goto(code.data.replace(/^https?:\/\/[^/]+/, base));
    assert.equal(opened.status(), 200);
    assert.match(await printer.locator('#name').innerText(), /干部\d\d号/);
    await printer.goBack();
  }
  await printer.close();

  step('a complaint filed from a card on a phone, its proof of work in the page, followed with its code');
  const filer = await browser.newPage({ viewport: { width: 360, height: 740 }, deviceScaleFactor: 2, locale: 'zh-CN', isMobile: true, hasTouch: true });
  filer.on('pageerror', (e) => errors.push(`filer: ${e.message}`));
  filer.on('console', (m) => { if (m.type() === 'error') errors.push(`filer console: ${m.text()}`); });
  // A village cadre of the leader's township: its leader handles the case.
  const cardId = await page.evaluate(async (u) => {
    const html = await (await fetch(u)).text();
    for (const [, id] of html.matchAll(/\/c\/([0-9a-f]{16})/g)) {
      const card = await (await fetch(`/api/v1/cards/${id}`)).json();
      if (card.unit_name.endsWith('村')) return id;
    }
    return undefined;
  }, `${base}/p/${leaderUnit}/cards`);
  assert.ok(cardId, 'a card of the leader\'s township');
  assert.equal((await filer.goto(`${base}/c/${cardId}`)).status(), 200);
  await filer.locator('#report').click();
  await filer.waitForURL(/\/f\?card=/);
  assert.match(await filer.locator('#target').innerText(), /反映对象：/);
  await filer.locator('input[name=kind][value=complaint]').check();
  await filer.locator('#content').fill('上周说好来村里看看水渠，到现在也没来。');
  await filer.locator('#filer-phone').fill('139 0000 1234');
  await filer.screenshot({ path: `${shots}/14-case-form-phone.png`, fullPage: true });
  await Promise.all([filer.waitForURL(`${base}/f`), filer.locator('#case-submit').click()]);
  const refused = await filer.locator('#case-message').count();
  assert.equal(refused, 0, refused ? await filer.locator('#case-message').innerText() : '');
  const code = (await filer.locator('#case-code').innerText()).trim();
  assert.match(code, /^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/, `a tracking code: ${code}`);
  await filer.screenshot({ path: `${shots}/15-case-filed-phone.png`, fullPage: true });
  await filer.goto(`${base}/q`);
  await filer.locator('#code').fill(code.toLowerCase());
  await Promise.all([filer.waitForURL(`${base}/q`), filer.locator('#lookup-form button').click()]);
  assert.match(await filer.locator('#state').innerText(), /办理中/);
  await filer.screenshot({ path: `${shots}/16-case-state-phone.png`, fullPage: true });
  await filer.close();

  assert.deepEqual(errors, [], 'no script errors on the pages');
  step('all checks passed');
} catch (e) {
  failed = true;
  console.error(`[browser] FAILED at ${page.url()}: ${e.stack || e}`);
  await page.screenshot({ path: `${shots}/failure.png`, fullPage: true }).catch(() => {});
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);

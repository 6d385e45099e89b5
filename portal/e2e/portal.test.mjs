// Browser test of the ptu portal: the Azure guide's walk-through in Chromium.
// Run by portal/browser_test.go, which starts a server and sets:
//   PTU_URL          the server's base URL
//   PTU_TOKEN        the admin token
//   PTU_FLUSH_URL    POST here to write the metric minutes recorded so far
//   PTU_SCREENSHOTS  where to keep the screenshots
//   PTU_CHROMIUM     the browser (default /usr/bin/chromium)
import { chromium } from "playwright-core";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const base = process.env.PTU_URL;
const token = process.env.PTU_TOKEN;
const shots = process.env.PTU_SCREENSHOTS || join(tmpdir(), "ptu-portal-shots");
mkdirSync(shots, { recursive: true });
assert.ok(base && token, "PTU_URL and PTU_TOKEN are required");

const profile = mkdtempSync(join(tmpdir(), "ptu-chromium-"));
// A fresh profile directory (--user-data-dir) for every run.
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.PTU_CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  viewport: { width: 1280, height: 900 },
});
const page = context.pages()[0] || await context.newPage();
page.setDefaultTimeout(30000); // generous: a loaded 2-core machine under -race
const problems = [];
page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
// HTTP error statuses the walk-through expects (401, 409, 400) are logged by
// Chromium as "Failed to load resource"; anything else is a script problem.
page.on("console", (m) => {
  if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) problems.push(`console error: ${m.text()}`);
});
page.on("dialog", (d) => d.accept()); // the confirm() before a delete
// Every page names its icon; a browser that still asks for /favicon.ico gets a 401 and logs it.
page.on("request", (r) => { if (new URL(r.url()).pathname === "/favicon.ico") problems.push(`requested ${r.url()}`); });

let step = "start";
async function shot(name) {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}
const t0 = Date.now();
function log(s) {
  step = s;
  console.log(`- [${((Date.now() - t0) / 1000).toFixed(1)}s] ${s}`);
}

// Every visible form field has a label (a <label for>, a wrapping label or aria-label).
async function assertLabels() {
  const unlabeled = await page.$$eval("input:not([type=hidden]), select, textarea", (els) =>
    els.filter((e) => !(e.labels && e.labels.length) && !e.getAttribute("aria-label") && !e.getAttribute("aria-labelledby"))
      .map((e) => e.outerHTML.slice(0, 120)));
  assert.deepEqual(unlabeled, [], `fields without a label on ${page.url()}`);
  const fakeButtons = await page.$$eval("[onclick], a[role=button], div[role=button], span[role=button]", (els) => els.length);
  assert.equal(fakeButtons, 0, "buttons are <button>s");
}

// choose picks an option of a wizard picker that updates the form in place
// (resource, model, version, type), and waits for the update to settle.
async function choose(label, value, exact = false) {
  const field = page.getByLabel(label, { exact });
  await ready(); // a page just navigated to may not have run its deferred scripts yet
  if ((await field.inputValue()) === value) return;
  const refreshed = page.waitForResponse((r) => r.url().includes("/portal/deployments/new?") && r.request().method() === "GET");
  await field.selectOption(value);
  await refreshed;
  await page.waitForFunction(() => !document.querySelector(".htmx-request, .htmx-settling, .htmx-swapping, .htmx-added"));
  assert.equal(await page.getByLabel(label, { exact }).inputValue(), value, `${label} after the update`);
}

// noDialogOpen: nothing asked for a price confirmation.
async function noDialogOpen() {
  assert.equal(await page.locator("#pricing-dialog").count(), 0, "no price dialog before the problem is fixed");
}

// alertFor waits for the form's error of that code and returns its text.
async function alertFor(code) {
  const a = page.getByRole("alert").filter({ hasText: code });
  await a.waitFor();
  return a.textContent();
}

// ready waits until the page's deferred scripts have run (dialogs, charts, htmx).
async function ready() {
  await page.waitForFunction(() => document.readyState === "complete" && window.htmx);
}

async function focusInside(selector) {
  return page.evaluate((sel) => {
    const d = document.querySelector(sel);
    return !!d && d.contains(document.activeElement);
  }, selector);
}

async function usageText(region, sku) {
  return (await page.locator(`tr[data-usage="${region}/${sku}"] .usage-text`).textContent()).trim();
}

async function barWidth(region, sku) {
  return page.locator(`tr[data-usage="${region}/${sku}"] .bar span`).evaluate((e) => e.style.width);
}

const pickers = page.getByRole("form", { name: "Subscription and region" });

try {
  log("sign in: a wrong token is refused, the admin token opens the quota page");
  await page.goto(`${base}/portal/`);
  await page.getByLabel("Token").fill("not-the-token");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("alert").waitFor();
  await page.getByLabel("Token").fill(token);
  await page.getByLabel("Token").press("Enter");
  await page.getByRole("heading", { level: 1, name: "Quota" }).waitFor();
  await assertLabels();
  assert.equal(await usageText("eastus", "ProvisionedManaged"), "0 of 500 used");
  assert.equal(await barWidth("eastus", "ProvisionedManaged"), "0%");
  await shot("01-quota-before");

  log("the subscription picker shows the whole subscription");
  const cut = await pickers.getByLabel("Subscription").evaluate((sel) => {
    const ctx = document.createElement("canvas").getContext("2d");
    ctx.font = getComputedStyle(sel).font;
    return ctx.measureText(sel.selectedOptions[0].text).width + 20 - sel.getBoundingClientRect().width;
  });
  assert.ok(cut <= 0, `the subscription picker cuts ${cut}px of its text`);

  log("subscription and region pickers: pick West US 3");
  await pickers.getByLabel("Region").selectOption("westus3");
  await pickers.getByRole("button", { name: "Apply" }).click();
  await page.locator("section.region.selected h3").filter({ hasText: "West US 3" }).waitFor();

  log("create two resources: East US and West US 3 (dialog: focus moves in, Escape closes)");
  await page.getByRole("link", { name: "Deployments" }).click();
  const create = page.getByRole("button", { name: "Create resource" });
  await ready();
  await create.focus();
  await page.keyboard.press("Enter");
  assert.ok(await focusInside("#account-dialog"), "focus moves into the dialog");
  await page.keyboard.press("Escape");
  assert.equal(await page.locator("#account-dialog").evaluate((d) => d.open), false, "Escape closes the dialog");
  assert.ok(await create.evaluate((b) => b === document.activeElement), "focus goes back to the button");
  for (const [name, region] of [["demo-aoai", "eastus"], ["demo-west", "westus3"]]) {
    await ready();
    await create.click();
    await page.getByLabel("Resource name").fill(name);
    await page.getByLabel("Resource group").fill("demo");
    await page.locator("#account-dialog").getByLabel("Region").selectOption(region);
    await page.locator("#account-dialog").getByRole("button", { name: "Create" }).click();
    await page.getByRole("status").filter({ hasText: `Resource ${name} created` }).waitFor();
  }
  await assertLabels();

  log("wizard in West US 3: 100 PTUs of regional gpt-4o 2024-11-20, with the pricing confirmation");
  await page.getByRole("button", { name: "Deploy model in demo-west" }).click();
  await page.getByRole("heading", { level: 1, name: "Deploy model" }).waitFor();
  assert.equal(await page.locator("#w-region").textContent(), "West US 3");
  await choose("Model", "gpt-4o", true);
  await choose("Model version", "2024-11-20");
  await choose("Deployment type", "ProvisionedManaged");
  assert.equal(await page.locator("#w-ptus").getAttribute("min"), "50");
  await page.getByLabel("Deployment name").fill("gpt-4o");
  await page.getByLabel("Content filter").selectOption("Microsoft.DefaultV2");
  await page.getByLabel("Provisioned throughput units (PTUs)").fill("100");
  await page.getByText("Advanced options").click();
  await page.getByLabel("Version update policy").selectOption("OnceCurrentVersionExpired");
  await assertLabels();
  // What can be deployed here is shown before anything is confirmed.
  assert.match((await page.locator("#w-available").textContent()).replace(/\s+/g, " "), /Available in West US 3 now: 50 PTUs · your quota: 0 of 500 used, 500 free/);
  await shot("02-wizard");
  await page.locator("#wizard-form").screenshot({ path: join(shots, "02-wizard-form.png") });

  log("capacity short before the price: deployable PTUs shown, see other regions, switch resource");
  await page.getByRole("button", { name: "Review price and create" }).click();
  const short = page.locator("#capacity-short");
  await short.waitFor();
  await noDialogOpen();
  assert.match(await short.textContent(), /Deployable here now: 50 PTUs/);
  const see = page.getByRole("button", { name: "See other regions" });
  await ready();
  await see.click();
  const regions = page.getByRole("dialog", { name: /Other regions for gpt-4o 2024-11-20/ });
  await regions.waitFor();
  assert.ok(await focusInside("#regions-dialog"), "focus moves into the regions dialog");
  await page.keyboard.press("Escape");
  assert.equal(await page.locator("#regions-dialog").evaluate((d) => d.open), false);
  assert.ok(await see.evaluate((b) => b === document.activeElement), "focus goes back to 'See other regions'");
  await page.keyboard.press("Enter");
  await regions.waitFor();
  const east = page.locator('#regions-dialog tr[data-region="eastus"]');
  assert.match(await east.textContent(), /fits/);
  assert.match(await page.locator('#regions-dialog tr[data-region="westus3"]').textContent(), /50/);
  await shot("04-capacity-short");
  await page.locator("#regions-dialog").screenshot({ path: join(shots, "04-regions-dialog.png") });
  await east.getByRole("button", { name: /Switch resource to demo-aoai/ }).click();
  await page.getByRole("heading", { level: 1, name: "Deploy model" }).waitFor();
  assert.equal(await page.locator("#w-region").textContent(), "East US");
  assert.equal(await page.getByLabel("Deployment name").inputValue(), "gpt-4o");
  assert.equal(await page.getByLabel("Provisioned throughput units (PTUs)").inputValue(), "100");
  assert.equal(await page.getByLabel("Deployment type").inputValue(), "ProvisionedManaged");
  assert.equal(await page.getByLabel("Model version").inputValue(), "2024-11-20");

  log("a bad name is refused before the price");
  await page.getByLabel("Deployment name").fill("gpt 4o!");
  await page.getByRole("button", { name: "Review price and create" }).click();
  assert.match(await alertFor("InvalidResourceName"), /Deployment name 'gpt 4o!' is invalid/);
  await noDialogOpen();
  assert.equal(await page.getByLabel("Deployment name").getAttribute("aria-invalid"), "true");
  await page.getByLabel("Deployment name").fill("gpt-4o");

  log("the pricing confirmation, once the deployment fits");
  await page.getByRole("button", { name: "Review price and create" }).click();
  const pricing = page.getByRole("dialog", { name: "Confirm pricing" });
  await pricing.waitFor();
  assert.ok(await focusInside("#pricing-dialog"), "focus moves into the pricing dialog");
  const priceText = await pricing.textContent();
  assert.match(priceText, /\$2\.00 per PTU-hour/);
  assert.match(priceText, /\$200\.00 per hour/);
  assert.match(priceText, /\$146,000\.00 per month/);
  await shot("03-pricing");
  await page.locator("#pricing-dialog").screenshot({ path: join(shots, "03-pricing-dialog.png") });
  await pricing.getByRole("button", { name: "Confirm price and create" }).click();
  await page.getByRole("status").filter({ hasText: "Deployment gpt-4o created: 100 PTUs of ProvisionedManaged" }).waitFor();
  await page.locator('[data-account="demo-aoai"] tr[data-deployment="gpt-4o"]').waitFor();

  log("a name in use is refused before the price");
  await page.getByRole("button", { name: "Deploy model in demo-aoai" }).click();
  await choose("Model", "gpt-4o", true);
  await choose("Model version", "2024-11-20");
  await choose("Deployment type", "ProvisionedManaged");
  await page.getByLabel("Deployment name").fill("gpt-4o");
  await page.getByLabel("Provisioned throughput units (PTUs)").fill("50");
  await page.getByRole("button", { name: "Review price and create" }).click();
  assert.match(await alertFor("Conflict"), /A deployment named 'gpt-4o' already exists in demo-aoai/);
  await noDialogOpen();

  log("a size off the step, and one past the quota, are refused before the price");
  await page.getByLabel("Deployment name").fill("gpt-4o-big");
  await page.getByLabel("Provisioned throughput units (PTUs)").fill("75");
  await page.getByRole("button", { name: "Review price and create" }).click();
  assert.match(await alertFor("InvalidCapacity"), /multiple of 50/);
  await noDialogOpen();
  await page.getByLabel("Provisioned throughput units (PTUs)").fill("450");
  await page.getByRole("button", { name: "Review price and create" }).click();
  assert.match(await alertFor("InsufficientQuota"), /450 PTUs of ProvisionedManaged do not fit your quota in East US: 100 of 500 are used, 400 are free/);
  await noDialogOpen();
  await page.getByRole("link", { name: "Request more quota on the Quota page" }).waitFor();
  await page.getByRole("link", { name: "Deployments" }).click();

  log("a Standard (pay-per-token) deployment: the confirmation gives the token prices");
  await page.getByRole("button", { name: "Deploy model in demo-aoai" }).click();
  await choose("Model", "gpt-4o", true);
  await choose("Deployment type", "GlobalStandard");
  await page.getByLabel("Rate limit (thousands of tokens per minute)").fill("10");
  await page.getByLabel("Deployment name").fill("chat-std");
  await page.getByRole("button", { name: "Review price and create" }).click();
  await pricing.waitFor();
  assert.match(await pricing.textContent(), /no hourly charge/);
  assert.match(await pricing.textContent(), /input \$[0-9.]+, cached input \$[0-9.]+, output \$[0-9.]+/);
  await pricing.getByRole("button", { name: "Confirm price and create" }).click();
  await page.getByRole("status").filter({ hasText: "Deployment chat-std created: 10K TPM of GlobalStandard" }).waitFor();

  log("keyboard only: a 15-PTU Global deployment spilling over to chat-std (Enter submits, the pricing dialog takes the focus)");
  await page.getByRole("button", { name: "Deploy model in demo-aoai" }).click();
  await choose("Model", "gpt-4o", true);
  await page.getByText("Advanced options").click();
  await page.getByLabel("Spillover to a Standard deployment").selectOption("chat-std");
  await choose("Deployment type", "GlobalProvisionedManaged");
  assert.equal(await page.locator("#w-ptus").getAttribute("min"), "15");
  // Arrow keys on a picker update the other choices in place; the focus stays on the picker.
  await page.getByLabel("Model version").focus();
  for (const key of ["ArrowUp", "ArrowDown"]) {
    const refreshed = page.waitForResponse((r) => r.url().includes("/portal/deployments/new?") && r.request().method() === "GET");
    await page.keyboard.press(key);
    await refreshed;
    await page.waitForFunction(() => !document.querySelector(".htmx-request, .htmx-settling, .htmx-swapping"));
    assert.equal(await page.evaluate(() => document.activeElement.id), "w-version", `focus after ${key}`);
  }
  assert.equal(await page.getByLabel("Model version").inputValue(), "2024-11-20");
  await page.getByLabel("Deployment name").focus();
  await page.keyboard.type("chat");
  await page.keyboard.press("Tab"); // content filter
  await page.keyboard.press("Tab"); // deployment type
  await page.keyboard.press("Tab"); // PTUs
  assert.equal(await page.evaluate(() => document.activeElement.id), "w-ptus");
  await page.keyboard.press("Control+A");
  await page.keyboard.type("15");
  await page.keyboard.press("Enter");
  await pricing.waitFor();
  assert.match(await pricing.textContent(), /\$15\.00 per hour/);
  assert.equal(await page.evaluate(() => document.activeElement.textContent.trim()), "Confirm price and create");
  await page.keyboard.press("Enter");
  await page.getByRole("status").filter({ hasText: "Deployment chat created: 15 PTUs of GlobalProvisionedManaged" }).waitFor();
  assert.match(await page.locator('[data-account="demo-aoai"] tr[data-deployment="chat"]').textContent(), /spills over to chat-std/);
  await shot("05-deployments");

  log("resize: chat from 15 to 20 PTUs; past the quota it is refused and stays");
  const chatRow = page.locator('[data-account="demo-aoai"] tr[data-deployment="chat"]');
  await ready();
  await page.getByRole("button", { name: "Resize deployment chat", exact: true }).click();
  const resize = page.getByRole("dialog", { name: "Resize a deployment" });
  await resize.waitFor();
  assert.equal(await resize.getByLabel("Deployment").inputValue(), "chat");
  assert.equal(await resize.getByLabel(/New capacity/).inputValue(), "15");
  assert.ok(await resize.getByLabel(/New capacity/).evaluate((e) => e === document.activeElement), "focus on the new capacity");
  await resize.getByLabel(/New capacity/).fill("20");
  await resize.getByRole("button", { name: "Resize" }).click();
  await page.getByRole("status").filter({ hasText: "Deployment chat resized from 15 PTUs to 20 PTUs of GlobalProvisionedManaged. It now costs $20.00 per hour" }).waitFor();
  assert.match(await chatRow.locator("td.num").textContent(), /20 PTUs/);
  await ready();
  await page.getByRole("button", { name: "Resize deployment chat", exact: true }).click();
  await resize.getByLabel(/New capacity/).fill("600");
  await resize.getByRole("button", { name: "Resize" }).click();
  assert.match(await alertFor("InsufficientQuota"), /600/);
  assert.match(await chatRow.locator("td.num").textContent(), /20 PTUs/);

  log("the quota bars moved");
  await page.getByRole("link", { name: "Quota" }).click();
  await pickers.getByLabel("Region").selectOption("eastus");
  await pickers.getByRole("button", { name: "Apply" }).click();
  await page.locator("section.region.selected h3").filter({ hasText: "East US" }).waitFor();
  assert.equal(await usageText("eastus", "ProvisionedManaged"), "100 of 500 used");
  assert.equal(await barWidth("eastus", "ProvisionedManaged"), "20%");
  assert.equal(await usageText("eastus", "GlobalProvisionedManaged"), "20 of 500 used");
  assert.equal(await usageText("westus3", "ProvisionedManaged"), "0 of 500 used");

  log("calculator on the quota page");
  await page.getByLabel("Model", { exact: true }).selectOption("gpt-4o 2024-11-20");
  await page.getByLabel("Calls per minute (peak)").fill("1000");
  await page.getByLabel("Prompt tokens per call").fill("200");
  await page.getByLabel("Generated tokens per call").fill("20");
  await page.getByLabel("Cache rate (%)").fill("0");
  await page.getByRole("button", { name: "Calculate" }).click();
  const calcRow = page.locator('#calc-result tr[data-calc="GlobalProvisionedManaged"]');
  await calcRow.waitFor();
  assert.match(await calcRow.textContent(), /115/);
  assert.match(await page.locator("#calc-result").textContent(), /112\.00 PTUs/);

  log("request quota");
  await ready();
  await page.getByRole("button", { name: "Request quota: Global Provisioned Managed, East US", exact: true }).click();
  assert.ok(await focusInside("#quota-dialog"));
  assert.equal(await page.getByLabel("New limit (PTUs)").inputValue(), "500");
  await page.getByLabel("New limit (PTUs)").fill("800");
  await page.getByLabel("Reason").fill("Launch of the support assistant");
  await page.getByRole("button", { name: "Send request" }).click();
  await page.getByRole("status").filter({ hasText: "Quota request for 800 PTUs" }).waitFor();
  assert.match(await page.locator("section[aria-labelledby=qr-h] tbody").textContent(), /Pending/);
  await assertLabels();
  await shot("06-quota-after");

  log("traffic on the Global deployment, then the utilization chart");
  const armBase = `${base}/subscriptions`;
  const subs = await (await fetch(`${armBase}?api-version=2022-12-01`, { headers: { Authorization: `Bearer ${token}` } })).json();
  const sub = subs.value[0].subscriptionId;
  const acctPath = `/subscriptions/${sub}/resourceGroups/demo/providers/Microsoft.CognitiveServices/accounts/demo-aoai`;
  const acct = await (await fetch(`${base}${acctPath}?api-version=2024-10-01`, { headers: { Authorization: `Bearer ${token}` } })).json();
  const keys = await (await fetch(`${base}${acctPath}/listKeys?api-version=2024-10-01`, { method: "POST", headers: { Authorization: `Bearer ${token}` } })).json();
  let ok = 0;
  await Promise.all(Array.from({ length: 4 }, async () => {
    for (let i = 0; i < 6; i++) {
      const res = await fetch(`${acct.properties.endpoint}openai/deployments/chat/chat/completions?api-version=2024-10-21`, {
        method: "POST",
        headers: { "api-key": keys.key1, "Content-Type": "application/json" },
        body: JSON.stringify({ messages: [{ role: "user", content: "Does Azure OpenAI support customer managed keys? ".repeat(20) }], max_tokens: 60 }),
      });
      await res.arrayBuffer();
      if (res.status === 200) ok++;
    }
  }));
  assert.ok(ok > 0, "some calls succeeded");
  const flushed = await fetch(process.env.PTU_FLUSH_URL, { method: "POST" });
  assert.equal(flushed.status, 204);

  await page.getByRole("link", { name: "Metrics" }).click();
  await page.getByLabel("Resource").selectOption({ label: "demo-aoai (eastus)" });
  await page.getByLabel("Time range").selectOption("30m");
  await page.getByRole("button", { name: "Show" }).click();
  await page.locator('[data-chart="utilization"][data-drawn]:not([data-drawn="0"])').waitFor();
  await assertLabels();
  const utilSummary = await page.locator('[data-summary="utilization"]').textContent();
  assert.match(utilSummary, /Highest value [0-9.]+ % \(chat\)/, utilSummary);
  const canvases = await page.locator('[data-chart="utilization"] canvas').count();
  assert.ok(canvases >= 1, "the utilization chart is drawn");
  const legend = await page.locator('#fig-utilization .u-legend').textContent();
  assert.match(legend, /chat/);
  assert.match(await page.locator('[data-summary="requests"]').textContent(), /Highest value [0-9.]+ \(200\)/);
  await page.locator("#fig-utilization summary").click();
  const row = page.locator('#fig-utilization tr[data-series="chat"]');
  const points = Number((await row.locator("td").first().textContent()).trim());
  assert.ok(points > 0, "utilization points present");
  await page.locator("#fig-utilization").screenshot({ path: join(shots, "07-utilization-chart.png") });
  // Counts are written out, not in exponent notation, and the latency axis is wide enough for its labels.
  await page.locator("#fig-tokens summary").click();
  const tokensTable = await page.locator("#fig-tokens details table").textContent();
  assert.doesNotMatch(tokensTable + (await page.locator('[data-summary="tokens"]').textContent()), /e\+/);
  await page.locator('[data-chart="latency"][data-drawn]:not([data-drawn="0"])').waitFor();
  await page.locator("#fig-latency").screenshot({ path: join(shots, "07-latency-chart.png") });
  await page.locator("#fig-tokens").screenshot({ path: join(shots, "07-tokens-chart.png") });
  await shot("07-metrics");

  log("the deployment list shows the utilization too");
  await page.getByRole("link", { name: "Deployments" }).click();
  const util = await page.locator('[data-account="demo-aoai"] tr[data-deployment="chat"] td.util').textContent();
  assert.match(util, /[0-9.]+ %/);
  assert.notEqual(util.trim(), "0.0 %");

  log("reservations and billing pages");
  await page.getByRole("link", { name: "Reservations" }).click();
  // Each checkbox sits on its label's line, right before its text.
  for (const name of ["Renew automatically", "Buy even if larger than what is deployed"]) {
    const box = await page.getByLabel(name).boundingBox();
    const label = await page.locator("label.check").filter({ hasText: name }).boundingBox();
    assert.ok(box.x >= label.x && box.x + box.width <= label.x + 30 && box.y >= label.y && box.y + box.height <= label.y + label.height + 1,
      `the "${name}" checkbox is apart from its label: ${JSON.stringify({ box, label })}`);
  }
  await page.getByLabel("Display name").fill("east regional");
  await page.getByLabel("Deployment type").selectOption("ProvisionedManaged");
  await page.getByLabel("PTUs", { exact: true }).fill("500");
  await page.getByRole("button", { name: "Buy reservation" }).click();
  await page.getByRole("alert").filter({ hasText: "InvalidResourceProperties" }).waitFor(); // larger than what is deployed
  await page.getByLabel("PTUs", { exact: true }).fill("100");
  await page.getByRole("button", { name: "Buy reservation" }).click();
  await page.getByRole("status").filter({ hasText: "Reservation of 100 PTUs (ProvisionedManaged, eastus) bought" }).waitFor();
  await assertLabels();
  await page.getByRole("link", { name: "Billing" }).click();
  const total = await page.locator("tfoot").textContent();
  assert.match(total, /Total/);
  assert.match(await page.locator("tbody").textContent(), /demo-aoai\/gpt-4o/);
  // Each line says which model and version it bills.
  assert.match(await page.locator("tbody tr").filter({ hasText: "demo-aoai/gpt-4o" }).first().textContent(), /gpt-4o 2024-11-20/);
  await assertLabels();
  await shot("08-billing");

  assert.deepEqual(problems, [], "no script errors");
  console.log("ok: the portal walk-through passed");
} catch (e) {
  console.error(`FAILED at step "${step}" on ${page.url()}`);
  await shot("failure").catch(() => {});
  console.error(e);
  if (problems.length) console.error(problems.join("\n"));
  process.exitCode = 1;
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}

// End-to-end flows of the merchant console in Debian's chromium (playwright-core, no browser
// download), against a served platform with the demo data. tests/console/test_console_browser.py
// runs one scenario per call and does the staff's part (approving the application) in between.
//
// usage: node console_e2e.mjs <scenario> '<json config>'
//   config: {baseUrl, screenshots (folder), email, password, image, document, foreignOrder, ...}
// Prints one JSON line: {ok, steps, error, external, pageErrors, consoleErrors, downloads}.
import { chromium } from "playwright-core";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const [scenario, rawConfig] = process.argv.slice(2);
const config = JSON.parse(rawConfig);
const origin = new URL(config.baseUrl).origin;
const report = { ok: false, scenario, steps: [], external: [], pageErrors: [], consoleErrors: [], downloads: {}, facts: {} };
const T = 30000;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});

async function open(locale = "en-GB", viewport = { width: 1366, height: 768 }) {
  const context = await browser.newContext({ locale, timezoneId: "Asia/Shanghai", viewport, acceptDownloads: true });
  const page = await context.newPage();
  await page.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith("data:") || url.startsWith("blob:") || new URL(url).origin === origin) return route.continue();
    report.external.push(url);
    return route.abort();
  });
  page.on("console", (message) => {
    // A missing picture (media is not served with DEBUG off) is not the console's fault.
    if (message.type() === "error" && !/Failed to load resource.*404/.test(message.text())) report.consoleErrors.push(message.text());
  });
  page.on("pageerror", (error) => report.pageErrors.push(String(error)));
  return page;
}

function step(name) {
  report.steps.push(name);
}

async function shot(page, name) {
  if (!config.screenshots) return;
  mkdirSync(config.screenshots, { recursive: true });
  await page.waitForLoadState("networkidle").catch(() => undefined);
  await page.screenshot({ path: join(config.screenshots, `${name}.png`), fullPage: false });
}

async function signIn(page, email, password, labels = { email: "Email", password: "Password", submit: "Sign in" }) {
  await page.goto(`${config.baseUrl}/console/`);
  await page.getByLabel(labels.email, { exact: true }).fill(email);
  await page.getByLabel(labels.password, { exact: true }).fill(password);
  await page.getByRole("button", { name: labels.submit, exact: true }).click();
  await page.getByRole("button", { name: labels.signOut ?? "Sign out" }).waitFor({ timeout: T });
}

// A page of the main navigation, by its exact name: the home page's panels hold links such as "All orders to ship".
async function navigate(page, name) {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name, exact: true }).click();
}

async function heading(page, text) {
  await page.getByRole("heading", { level: 1, name: text }).waitFor({ timeout: T });
}

async function notice(page, text) {
  await page.getByRole("status").filter({ hasText: text }).first().waitFor({ timeout: T });
}

const scenarios = {
  // A new merchant (registered and confirmed by the test) applies with a document.
  async apply() {
    const page = await open();
    await signIn(page, config.email, config.password);
    await heading(page, "Apply to sell");
    step("signed in, sent to the application");
    // Checked before upload: a text file is refused at the field, nothing is sent.
    const drops = page.locator('input[type="file"]');
    await drops.nth(0).setInputFiles({ name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("not a licence") });
    await page.getByText("notes.txt: only PDF, JPEG, PNG, WEBP files are accepted.").waitFor({ timeout: T });
    step("refused a text file before upload");
    await page.getByRole("button", { name: "Submit application" }).click();
    await page.getByText("A business licence is required.").waitFor({ timeout: T });
    await page.getByText("Required.").first().waitFor({ timeout: T });
    step("field errors shown at the fields");
    await page.getByLabel("Store name").fill(config.storeName);
    await page.getByLabel("Company name").fill(`${config.storeName} Co., Ltd.`);
    await page.getByLabel("Contact phone").fill("+86 571 0000 0000");
    await page.getByLabel("What you sell").fill("Travel bags and suitcases.");
    await page.getByLabel(config.category, { exact: true }).check();
    await drops.nth(0).setInputFiles(config.document);
    await page.locator(".previews").getByText("licence.pdf").waitFor({ timeout: T });
    await shot(page, "apply-form");
    await page.getByRole("button", { name: "Submit application" }).click();
    await notice(page, "Application submitted.");
    await page.getByRole("heading", { name: /Your application/ }).getByText("Submitted").waitFor({ timeout: T });
    await page.getByRole("link", { name: "Business licence" }).waitFor({ timeout: T });
    step("application submitted with its document");
  },

  // Staff asked for more information (the test, through the API): the applicant reads it, adds a
  // document and resubmits.
  async resubmit() {
    const page = await open();
    await signIn(page, config.email, config.password);
    await heading(page, "Apply to sell");
    await page.getByText(config.infoRequest).waitFor({ timeout: T });
    await page.getByRole("heading", { name: /Your application/ }).getByText("Information requested").waitFor({ timeout: T });
    step("information request shown");
    await shot(page, "apply-info-requested");
    await page.getByLabel("What you sell", { exact: true }).fill("Travel bags and suitcases; we hold the Jade trademark.");
    await page.locator('input[type="file"]').nth(1).setInputFiles(config.document);
    await page.locator(".previews").getByText("licence.pdf").waitFor({ timeout: T });
    await page.getByRole("button", { name: "Resubmit" }).click();
    await notice(page, "Application resubmitted.");
    await page.getByRole("heading", { name: /Your application/ }).getByText("Submitted").waitFor({ timeout: T });
    step("application resubmitted");
  },

  // Approved by staff (the test, through the API): pays fee and deposit, lists a product with a picture.
  async onboard() {
    const page = await open();
    await signIn(page, config.email, config.password);
    const open_ = page.getByRole("button", { name: "Open my store" });
    if (await open_.isVisible().catch(() => false)) await open_.click();
    await navigate(page, "Home");
    await heading(page, "Home");
    await page.getByText("Onboarding").first().waitFor({ timeout: T });
    step("approved store in onboarding");
    await page.getByRole("button", { name: /Pay the entry fee/ }).click();
    await notice(page, "Entry fee paid.");
    await page.getByRole("button", { name: /Pay the deposit/ }).click();
    await notice(page, "Deposit paid.");
    await page.getByText("Active").first().waitFor({ timeout: T });
    step("entry fee and deposit paid: active");
    await shot(page, "home-new-store");

    await navigate(page, "Products");
    await page.getByText("No listings yet.").waitFor({ timeout: T });
    await page.getByRole("link", { name: "New product" }).first().click();
    await heading(page, "New product");
    await page.getByRole("button", { name: "Create draft" }).click();
    await page.getByText("A listing needs a name.").waitFor({ timeout: T });
    await page.getByLabel("Category", { exact: true }).selectOption({ label: config.category });
    await page.getByLabel("Name", { exact: true }).fill("Cabin suitcase 20 inch 登机箱");
    await page.getByLabel("Description", { exact: true }).fill("Light, four wheels, TSA lock.");
    await page.getByLabel("SKU", { exact: true }).fill("CABIN-20-BLK");
    await page.getByLabel("Price (CNY)").fill("399.00");
    await page.getByLabel("Stock", { exact: true }).fill("12");
    await page.getByLabel("Weight (kg)").fill("2.8");
    await page.locator('input[type="file"]').setInputFiles(config.image);
    await page.locator(".previews").getByText("suitcase.png").waitFor({ timeout: T });
    await page.getByRole("button", { name: "Create draft" }).click();
    await page.getByRole("button", { name: "Submit for review" }).waitFor({ timeout: T });
    await page.getByRole("img", { name: "Picture 1" }).waitFor({ state: "attached", timeout: T });
    step("draft created with its picture");
    report.facts.productUrl = page.url();
    await page.getByRole("button", { name: "Submit for review" }).click();
    await notice(page, "Submitted for review.");
    await page.getByRole("heading", { level: 1 }).getByText("Waiting for review").waitFor({ timeout: T });
    step("submitted for review");
    await shot(page, "product-submitted");
  },

  // A demo merchant ships a paid order and downloads a statement.
  async ship() {
    const page = await open();
    await signIn(page, config.email, config.password);
    await navigate(page, "Orders");
    await heading(page, "Orders");
    await page.getByLabel("Status", { exact: true }).selectOption("PAID");
    await page.locator("tbody tr").first().waitFor({ timeout: T });
    const number = (await page.locator("tbody tr td a").first().textContent()).trim();
    await page.locator("tbody tr td a").first().click();
    await heading(page, new RegExp(`Order ${number}`));
    await page.getByRole("link", { name: "Packing slip" }).click();
    await page.getByRole("heading", { level: 1, name: new RegExp(`Packing slip`) }).waitFor({ timeout: T });
    step("packing slip shown");
    await page.goBack();
    await heading(page, new RegExp(`Order ${number}`));
    await page.getByRole("button", { name: "Ship order" }).click();
    await notice(page, "Shipped.");
    await page.getByText("Tracking number:").waitFor({ timeout: T });
    await page.getByRole("heading", { level: 1 }).getByText("Shipped").waitFor({ timeout: T });
    report.facts.shipped = number;
    step("order shipped");

    await navigate(page, "Money");
    await heading(page, "Money");
    await page.getByLabel("From", { exact: true }).fill(config.statementFrom);
    await page.getByLabel("To", { exact: true }).fill(config.statementTo);
    await page.getByRole("button", { name: "Statement for these days" }).click();
    for (const [label, kind] of [["Download CSV", "csv"], ["Download PDF", "pdf"]]) {
      const [download] = await Promise.all([page.waitForEvent("download", { timeout: T }), page.getByRole("link", { name: label }).click()]);
      const path = await download.path();
      const bytes = readFileSync(path);
      report.downloads[kind] = { name: download.suggestedFilename(), size: bytes.length, head: bytes.subarray(0, 8).toString("latin1") };
    }
    step("statement downloaded as CSV and PDF");
  },

  // A demo merchant answers a dispute waiting for it: rejects with a message and a picture.
  async dispute() {
    const page = await open();
    await signIn(page, config.email, config.password);
    await navigate(page, "Disputes");
    await heading(page, "Disputes");
    await page.getByLabel("Status", { exact: true }).selectOption("AWAITING_VENDOR");
    await page.locator("tbody tr td a").first().click();
    await heading(page, /Dispute on order/);
    await page.getByText(/left\)|passed\)/).first().waitFor({ timeout: T });
    step("dispute with its deadline");
    await page.getByRole("button", { name: "Reject with this message" }).click();
    await page.getByText("Tell the shopper why you reject the claim.").waitFor({ timeout: T });
    await page.getByLabel("Message", { exact: true }).fill("The parcel left intact; see the photo of the packing.");
    await page.locator('input[type="file"]').setInputFiles(config.image);
    await page.getByRole("button", { name: "Reject with this message" }).click();
    await notice(page, "Rejected;");
    await page.getByRole("heading", { level: 1 }).getByText("Waiting for the shopper").waitFor({ timeout: T });
    await page.getByText("The parcel left intact; see the photo of the packing.").waitFor({ timeout: T });
    await page.getByRole("img", { name: "Evidence 1" }).waitFor({ state: "attached", timeout: T });
    step("dispute answered with a message and evidence");
  },

  // Another store's order, opened by its URL, is not shown; nor is it in the list.
  async isolation() {
    const page = await open();
    await signIn(page, config.email, config.password);
    await page.goto(`${config.baseUrl}/console/orders/${encodeURIComponent(config.foreignOrder)}`);
    await page.getByText("No such order in your store.").waitFor({ timeout: T });
    const text = await page.locator("main").textContent();
    if (text.includes(config.foreignNumber)) throw new Error("the other store's order number is shown");
    step("another store's order is not found");
    await page.goto(`${config.baseUrl}/console/orders/${encodeURIComponent(config.foreignOrder)}/packing-slip`);
    await page.getByText("No such order in your store.").waitFor({ timeout: T });
    step("nor its packing slip");
    // Signing out forgets the session: a reload asks to sign in again.
    await page.goto(`${config.baseUrl}/console/`);
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByLabel("Password").waitFor({ timeout: T });
    await page.reload();
    await page.getByLabel("Password").waitFor({ timeout: T });
    step("signed out");
  },

  // The home page's store analytics: figures as shown, the range and grain pickers, drawn charts,
  // the CSV download; then the panel in Chinese. The test compares the figures with the API's.
  async analytics() {
    const page = await open();
    const asked = [];
    page.on("request", (request) => {
      if (request.method() !== "POST" || !request.url().endsWith("/graphql/")) return;
      const body = JSON.parse(request.postData() || "{}");
      if (/query StoreAnalytics\b/.test(body.query || "")) asked.push(body.variables);
    });
    await signIn(page, config.email, config.password);
    await heading(page, "Home");
    const panel = page.getByRole("region", { name: "Store analytics" });
    await panel.waitFor({ timeout: T });
    const figures = async () => {
      await panel.locator(".kpi").first().waitFor({ timeout: T });
      await page.waitForFunction(() => document.querySelector(".analytics")?.getAttribute("aria-busy") === "false", null, { timeout: T });
      return panel.locator(".kpi").evaluateAll((items) => Object.fromEntries(items.map((item) => [item.querySelector("dt").textContent, item.querySelector(".kpi-value").textContent])));
    };
    const rows = (name) => panel.getByRole("region", { name }).locator("tbody tr").evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent)));
    report.facts.figures30 = await figures();
    report.facts.asked30 = asked[asked.length - 1];
    report.facts.sources30 = await rows("Traffic by source");
    report.facts.products30 = await rows("Top products");
    step("figures of the last 30 days shown");
    // Every chart was drawn: a canvas with painted pixels, named for screen readers.
    await page.waitForFunction(() => document.querySelectorAll(".analytics canvas").length === 4, null, { timeout: T });
    report.facts.charts = await panel.locator("canvas").evaluateAll((canvases) => canvases.map((canvas) => {
      const context = canvas.getContext("2d");
      const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
      let painted = 0;
      for (let index = 3; index < data.length; index += 4) if (data[index] > 0) painted += 1;
      return { label: canvas.getAttribute("aria-label"), painted };
    }));
    // For the panel's picture only, the sticky top bar stays at the top instead of covering it.
    const unstick = (target) => target.evaluate(() => { document.querySelector(".topbar").style.position = "static"; });
    await unstick(page);
    if (config.screenshots) {
      mkdirSync(config.screenshots, { recursive: true });
      await panel.screenshot({ path: join(config.screenshots, "home-analytics-en.png") });
    }
    const [download] = await Promise.all([page.waitForEvent("download", { timeout: T }), panel.getByRole("link", { name: "Download CSV" }).click()]);
    const bytes = readFileSync(await download.path());
    report.downloads.csv = { name: download.suggestedFilename(), size: bytes.length, text: bytes.toString("utf8").slice(0, 4000) };
    step("CSV downloaded");
    await panel.getByRole("button", { name: "Last 90 days" }).click();
    await panel.getByRole("button", { name: "By week" }).click();
    await page.waitForFunction(() => document.querySelector('.analytics [aria-pressed="true"]')?.textContent === "Last 90 days", null, { timeout: T });
    for (let waited = 0; !asked.some((variables) => variables.period === "WEEK"); waited += 100) {
      if (waited > T) throw new Error("the panel did not ask for the weeks");
      await page.waitForTimeout(100);
    }
    await page.waitForFunction(() => document.querySelector(".analytics")?.getAttribute("aria-busy") === "false" && document.querySelectorAll(".analytics canvas").length === 4, null, { timeout: T });
    report.facts.figures90 = await figures();
    report.facts.asked90 = asked[asked.length - 1];
    report.facts.products90 = await rows("Top products");
    step("figures of the last 90 days by week shown");

    const zh = await open("zh-CN");
    await signIn(zh, config.email, config.password, { email: "电子邮箱", password: "密码", submit: "登录", signOut: "退出登录" });
    const zhPanel = zh.getByRole("region", { name: "店铺数据" });
    await zhPanel.locator(".kpi").first().waitFor({ timeout: T });
    await zh.waitForFunction(() => document.querySelectorAll(".analytics canvas").length === 4, null, { timeout: T });
    report.facts.zhLabels = await zhPanel.locator(".kpi dt").allTextContents();
    report.facts.zhButtons = await zhPanel.locator("button").allTextContents();
    await unstick(zh);
    if (config.screenshots) await zhPanel.screenshot({ path: join(config.screenshots, "home-analytics-zh.png") });
    step("panel shown in Chinese");
  },

  // The main pages in both languages (the language from the browser), at 1366x768 and on a tablet.
  async screenshots() {
    for (const [locale, suffix, labels] of [
      ["en-GB", "en", { email: "Email", password: "Password", submit: "Sign in", signOut: "Sign out" }],
      ["zh-CN", "zh", { email: "电子邮箱", password: "密码", submit: "登录", signOut: "退出登录" }],
    ]) {
      const page = await open(locale);
      await page.goto(`${config.baseUrl}/console/`);
      await page.getByLabel(labels.password).waitFor({ timeout: T });
      await shot(page, `sign-in-${suffix}`);
      await signIn(page, config.email, config.password, labels);
      const pages = [["home", "/console/"], ["orders", "/console/orders"], ["products", "/console/products"], ["disputes", "/console/disputes"], ["money", "/console/money"], ["store", "/console/store"]];
      for (const [name, path] of pages) {
        await page.goto(`${config.baseUrl}${path}`);
        await page.locator("main h1").waitFor({ timeout: T });
        await page.locator(".loading").waitFor({ state: "detached", timeout: T }).catch(() => undefined);
        await shot(page, `${name}-${suffix}`);
      }
      for (const [name, list, link] of [["order", "/console/orders", "tbody tr td a"], ["product", "/console/products", "tbody tr td a"], ["dispute", "/console/disputes", "tbody tr td a"]]) {
        await page.goto(`${config.baseUrl}${list}`);
        await page.locator(link).first().click();
        await page.locator("main h1").waitFor({ timeout: T });
        await page.locator(".loading").waitFor({ state: "detached", timeout: T }).catch(() => undefined);
        await shot(page, `${name}-${suffix}`);
      }
      if (suffix === "zh") {
        const html = await page.locator("html").getAttribute("lang");
        if (html !== "zh-Hans") throw new Error(`the page language is ${html}`);
        report.facts.zhNav = await page.locator("nav").first().textContent();
      }
    }
    const tablet = await open("en-GB", { width: 820, height: 1180 });
    await signIn(tablet, config.email, config.password);
    await tablet.goto(`${config.baseUrl}/console/orders`);
    await tablet.locator("tbody tr").first().waitFor({ timeout: T });
    const overflow = await tablet.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    report.facts.tabletOverflow = overflow;
    await shot(tablet, "orders-tablet");
    // Keyboard: the skip link is the first stop, and focus is visible.
    await tablet.keyboard.press("Tab");
    report.facts.firstTab = await tablet.evaluate(() => document.activeElement?.textContent);
    report.facts.focusOutline = await tablet.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    step("screenshots taken");
  },
};

try {
  if (!scenarios[scenario]) throw new Error(`no scenario ${scenario}`);
  await scenarios[scenario]();
  report.ok = true;
} catch (error) {
  report.error = String(error && error.stack ? error.stack : error).slice(0, 3000);
  try {
    const pages = browser.contexts().flatMap((context) => context.pages());
    const last = pages[pages.length - 1];
    if (last) {
      report.url = last.url();
      report.text = (await last.locator("body").textContent()).slice(0, 2000);
      if (config.screenshots) await last.screenshot({ path: join(config.screenshots, `failure-${scenario}.png`) });
    }
  } catch {
    /* the report is what matters */
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(report));

// Opens a GraphiQL page in Debian's chromium, runs the query given in the URL fragment and prints,
// as one JSON line, what happened: whether GraphiQL rendered, the text of the response pane, the
// requests the page made, and any request to another host (each one is aborted, so the page sees
// no network beyond the server under test).
//
// usage: node check_graphiql.mjs <page url> <text the response must contain>
import { chromium } from "playwright-core";

const [pageUrl, expected] = process.argv.slice(2);
const origin = new URL(pageUrl).origin;
const report = { rendered: false, response: "", requests: [], external: [], console: [], pageErrors: [] };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
try {
  const page = await browser.newPage();
  await page.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith("data:") || new URL(url).origin === origin) {
      report.requests.push(`${route.request().method()} ${url.slice(origin.length)}`);
      return route.continue();
    }
    report.external.push(url);
    return route.abort();
  });
  page.on("console", (message) => {
    if (message.type() === "error") report.console.push(message.text());
  });
  page.on("pageerror", (error) => report.pageErrors.push(String(error)));

  await page.goto(pageUrl, { waitUntil: "load" });
  await page.waitForSelector(".graphiql-container .graphiql-execute-button", { timeout: 30000 });
  report.rendered = true;
  await page.click(".graphiql-execute-button");
  await page.waitForFunction(
    (text) => {
      const pane = document.querySelector(".graphiql-response .result-window");
      return pane && pane.textContent.includes(text);
    },
    expected,
    { timeout: 30000 },
  );
} catch (error) {
  report.error = String(error);
} finally {
  try {
    const pages = browser.contexts().flatMap((context) => context.pages());
    if (pages.length) {
      report.response = await pages[0].evaluate(() => {
        const pane = document.querySelector(".graphiql-response .result-window");
        return pane ? pane.textContent : "";
      });
    }
  } catch (error) {
    report.error = report.error || String(error);
  }
  await browser.close();
}
console.log(JSON.stringify(report));

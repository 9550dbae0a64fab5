import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { browserLanguage, translate } from "./i18n";
import { EN, ZH } from "./zh";

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === "gql" || name === "test" ? [] : sources(path);
    return /\.tsx?$/.test(name) && !name.includes(".test.") ? [path] : [];
  });
}

it("has a Chinese text for every message the console shows", () => {
  const ids = new Set<string>();
  for (const file of sources(join(__dirname, ".."))) {
    for (const match of readFileSync(file, "utf8").matchAll(/\bt\(\s*"((?:[^"\\]|\\.)+)"/g)) ids.add(match[1]);
  }
  expect(ids.size).toBeGreaterThan(100);
  expect([...ids].filter((id) => !(id in ZH))).toEqual([]);
});

it("names every enum value the console shows in both languages", () => {
  const schema = readFileSync(join(__dirname, "../../../backend/graphql/schema.graphql"), "utf8");
  const values = (name: string) => schema.match(new RegExp(`enum ${name} \\{([^}]*)\\}`))![1].trim().split(/\s+/);
  for (const [prefix, enums] of Object.entries({ status: ["OrderStatus", "OrderPaymentStatus", "ListingStatus", "DisputeStatus", "VendorStatus", "VendorApplicationStatus", "PayoutStatus", "ShipmentStatus"], reason: ["DisputeReason"], kind: ["DisputeKind"], role: ["DisputeRole", "VendorRole"], document: ["DocumentType"], account: ["LedgerAccountKind"], txn: ["LedgerTransactionKind"], outcome: ["DisputeOutcome"] })) {
    for (const value of enums.flatMap(values)) {
      expect(EN[`${prefix}.${value}`], `${prefix}.${value}`).toBeTruthy();
      expect(ZH[`${prefix}.${value}`], `${prefix}.${value}`).toBeTruthy();
    }
  }
});

it("translates with values and falls back to English", () => {
  expect(translate("zh-Hans", "Order {number}", { number: "M-1" })).toBe("订单 M-1");
  expect(translate("en", "status.PAID")).toBe("Paid");
  expect(translate("zh-Hans", "status.PAID")).toBe("已付款");
  expect(translate("zh-Hans", "Unknown text")).toBe("Unknown text");
});

it("defaults to the browser's language", () => {
  expect(browserLanguage(["zh-CN", "en"])).toBe("zh-Hans");
  expect(browserLanguage(["zh-TW"])).toBe("zh-Hans");
  expect(browserLanguage(["en-US", "zh-CN"])).toBe("en");
  expect(browserLanguage(["fr-FR"])).toBe("en");
});

import { expect, it } from "vitest";
import { validPrice, variantChanges, variantInput, type VariantRow } from "./variants";

const row = (id: string | undefined, sku: string, price = "10.00", attributes: Record<string, string> = {}): VariantRow => ({ id, sku, price, stock: "5", weight: "0.5", attributes });

it("creates new rows, updates changed ones, deletes removed ones and leaves the rest", () => {
  const original = [row("V1", "A"), row("V2", "B"), row("V3", "C")];
  const edited = [row("V1", "A"), { ...row("V2", "B"), price: "12.00" }, row(undefined, "D", "3.50", { colour: "红色 Red" })];
  const changes = variantChanges(original, edited);
  expect(changes.create.map((r) => r.sku)).toEqual(["D"]);
  expect(changes.update.map((r) => r.id)).toEqual(["V2"]);
  expect(changes.remove).toEqual(["V3"]);
});

it("sends trimmed values, whole stock and only the attributes given", () => {
  expect(variantInput({ sku: " SKU-1 ", price: " 99.00", stock: "", weight: " ", attributes: { colour: " 黑色 ", size: "" } })).toEqual({
    sku: "SKU-1", price: "99.00", stock: 0, weight: undefined, attributes: [{ attribute: "colour", value: "黑色" }],
  });
});

it("checks prices before sending", () => {
  expect(validPrice("99.00")).toBe(true);
  expect(validPrice("0.5")).toBe(true);
  expect(validPrice("0")).toBe(false);
  expect(validPrice("1.999")).toBe(false);
  expect(validPrice("-3")).toBe(false);
  expect(validPrice("abc")).toBe(false);
});

// The variant rows of the product form, and what saving them asks of the API: a variant without
// an id is created, one whose fields changed is updated, one no longer in the form is deleted.
export type VariantRow = { id?: string; sku: string; price: string; stock: string; weight: string; attributes: Record<string, string> };

export type VariantInput = { sku: string; price: string; stock: number; weight: string | undefined; attributes: { attribute: string; value: string }[] };

export function variantInput(row: VariantRow): VariantInput {
  return {
    sku: row.sku.trim(),
    price: row.price.trim(),
    stock: Number.parseInt(row.stock || "0", 10),
    weight: row.weight.trim() || undefined,
    attributes: Object.entries(row.attributes).filter(([, value]) => value.trim()).map(([attribute, value]) => ({ attribute, value: value.trim() })),
  };
}

function same(a: VariantRow, b: VariantRow) {
  return JSON.stringify(variantInput(a)) === JSON.stringify(variantInput(b));
}

export function variantChanges(original: VariantRow[], edited: VariantRow[]) {
  const before = new Map(original.filter((row) => row.id).map((row) => [row.id!, row]));
  const create = edited.filter((row) => !row.id);
  const update = edited.filter((row) => row.id && before.has(row.id) && !same(before.get(row.id)!, row));
  const kept = new Set(edited.map((row) => row.id).filter(Boolean));
  const remove = original.filter((row) => row.id && !kept.has(row.id)).map((row) => row.id!);
  return { create, update, remove };
}

/** Is a price a positive amount with at most two decimals (the API checks again)? */
export function validPrice(price: string) {
  return /^\d+(\.\d{1,2})?$/.test(price.trim()) && Number(price) > 0;
}

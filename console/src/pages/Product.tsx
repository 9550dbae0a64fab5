import { useEffect, useMemo, useState, type FormEvent } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";
import {
  CategoriesDocument,
  ProductCreateDocument,
  ProductDelistDocument,
  ProductDetailDocument,
  ProductMediaCreateDocument,
  ProductMediaDeleteDocument,
  ProductMediaReorderDocument,
  ProductSubmitForReviewDocument,
  ProductUpdateDocument,
  ProductVariantCreateDocument,
  ProductVariantDeleteDocument,
  ProductVariantUpdateDocument,
  type ProductEditingFragment,
} from "../gql/graphql";
import { byField, request, type FieldError } from "../lib/client";
import { useI18n } from "../lib/i18n";
import { useQuery } from "../lib/useQuery";
import { validPrice, variantChanges, variantInput, type VariantRow } from "../lib/variants";
import { FileDrop, IMAGE_TYPES } from "../components/FileDrop";
import { ErrorBanner, Loading, Notice, PageTitle, Select, Status, TextArea, TextField, When } from "../components/ui";
import { NotFoundPage } from "./NotFound";

type Form = { category: string; name: string; description: string; attributes: Record<string, string>; variants: VariantRow[] };

function formOf(product: ProductEditingFragment | null | undefined): Form {
  if (!product) return { category: "", name: "", description: "", attributes: {}, variants: [{ sku: "", price: "", stock: "0", weight: "", attributes: {} }] };
  const revision = product.pendingRevision;
  const source = revision ?? product;
  return {
    category: source.category.id,
    name: source.name,
    description: source.description,
    attributes: Object.fromEntries(source.attributes.map((a) => [a.slug, a.value])),
    variants: product.variants.map((v) => ({ id: v.id, sku: v.sku, price: v.price.amount, stock: String(v.stock), weight: v.weight, attributes: Object.fromEntries(v.attributes.map((a) => [a.slug, a.value])) })),
  };
}

export function ProductPage() {
  const { id } = useParams();
  const navigate = useNavigate();
  const { t } = useI18n();
  const categories = useQuery(CategoriesDocument, {});
  const detail = useQuery(ProductDetailDocument, { id: id ?? "" }, !id);
  const product = id ? detail.data?.product : null;
  const [form, setForm] = useState<Form>(formOf(null));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [rowErrors, setRowErrors] = useState<Record<number, Record<string, string>>>({});
  const [failure, setFailure] = useState<Error | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [images, setImages] = useState<File[]>([]);

  useEffect(() => {
    if (product) setForm(formOf(product));
  }, [product]);

  const category = categories.data?.categories.find((c) => c.id === form.category);
  const productAttributes = useMemo(() => category?.attributes.filter((a) => a.scope === "PRODUCT") ?? [], [category]);
  const variantAttributes = useMemo(() => category?.attributes.filter((a) => a.scope === "VARIANT") ?? [], [category]);

  if (id && detail.loading && !detail.data) return <Loading />;
  if (id && !product) return detail.error ? <ErrorBanner error={detail.error} /> : <NotFoundPage what={t("No such listing in your store.")} />;

  const setRow = (index: number, change: Partial<VariantRow>) => setForm({ ...form, variants: form.variants.map((row, i) => (i === index ? { ...row, ...change } : row)) });

  const check = (): boolean => {
    const found: Record<string, string> = {};
    const rows: Record<number, Record<string, string>> = {};
    if (!form.category) found.category = t("Choose a category.");
    if (!form.name.trim()) found.name = t("A listing needs a name.");
    for (const attribute of productAttributes) if (attribute.required && !form.attributes[attribute.slug]?.trim()) found[`attribute.${attribute.slug}`] = t("Required.");
    form.variants.forEach((row, index) => {
      const errs: Record<string, string> = {};
      if (!row.sku.trim()) errs.sku = t("A variant needs a SKU.");
      if (!validPrice(row.price)) errs.price = t("A price above zero, like 99.00.");
      if (!/^\d+$/.test(row.stock.trim() || "0")) errs.stock = t("A whole number, zero or more.");
      if (Object.keys(errs).length) rows[index] = errs;
    });
    if (form.variants.length === 0) found.variants = t("Add at least one variant.");
    setErrors(found);
    setRowErrors(rows);
    return Object.keys(found).length === 0 && Object.keys(rows).length === 0;
  };

  const attributesInput = () => Object.entries(form.attributes).filter(([slug, value]) => value.trim() && productAttributes.some((a) => a.slug === slug)).map(([attribute, value]) => ({ attribute, value: value.trim() }));

  const guarded = async (work: () => Promise<void>) => {
    setBusy(true);
    setFailure(null);
    setDone(null);
    try {
      await work();
    } catch (caught) {
      setFailure(caught as Error);
    } finally {
      setBusy(false);
    }
  };

  const save = (event: FormEvent) => {
    event.preventDefault();
    if (!check()) return;
    void guarded(async () => {
      if (!product) {
        const answer = (await request(ProductCreateDocument, {
          input: { category: form.category, name: form.name.trim(), description: form.description, attributes: attributesInput(), variants: form.variants.map(variantInput) },
        })).productCreate;
        if (answer?.errors.length) return void setErrors(byField(answer.errors));
        if (answer?.product) {
          await uploadImages(answer.product.id);
          navigate(`/products/${answer.product.id}`, { replace: true });
        }
        return;
      }
      const answer = (await request(ProductUpdateDocument, { id: product.id, input: { category: form.category, name: form.name.trim(), description: form.description, attributes: attributesInput() } })).productUpdate;
      if (answer?.errors.length) return void setErrors(byField(answer.errors));
      const changes = variantChanges(formOf(product).variants, form.variants);
      const rows: Record<number, Record<string, string>> = {};
      const note = (row: VariantRow, found: FieldError[] | undefined) => {
        if (found?.length) rows[form.variants.indexOf(row)] = byField(found);
      };
      for (const row of changes.update) note(row, (await request(ProductVariantUpdateDocument, { id: row.id!, input: variantInput(row) })).productVariantUpdate?.errors);
      for (const row of changes.create) note(row, (await request(ProductVariantCreateDocument, { product: product.id, input: variantInput(row) })).productVariantCreate?.errors);
      for (const removed of changes.remove) {
        const found = (await request(ProductVariantDeleteDocument, { id: removed })).productVariantDelete?.errors;
        if (found?.length) setErrors(byField(found));
      }
      setRowErrors(rows);
      await uploadImages(product.id);
      await detail.reload();
      if (Object.keys(rows).length === 0) setDone(product.status === "PUBLISHED" ? t("Saved. Changes to the name, description, category, attributes or pictures wait for review; prices and stock apply now.") : t("Saved."));
    });
  };

  const uploadImages = async (productId: string) => {
    const left: File[] = [];
    const problems: string[] = [];
    for (const image of images) {
      const answer = (await request(ProductMediaCreateDocument, { product: productId, image })).productMediaCreate;
      if (answer?.errors.length) {
        left.push(image);
        problems.push(`${image.name}: ${answer.errors.map((e) => e.message).join(" ")}`);
      }
    }
    setImages(left);
    if (problems.length) setErrors((current) => ({ ...current, images: problems.join(" ") }));
  };

  const submit = () => void guarded(async () => {
    const answer = (await request(ProductSubmitForReviewDocument, { id: product!.id })).productSubmitForReview;
    if (answer?.errors.length) setErrors(byField(answer.errors.map((e) => ({ ...e, field: e.field === "media" ? "images" : e.field ?? "" }))));
    else setDone(t("Submitted for review."));
    await detail.reload();
  });
  const delist = () => void guarded(async () => {
    const answer = (await request(ProductDelistDocument, { id: product!.id })).productDelist;
    if (answer?.errors.length) setErrors(byField(answer.errors));
    await detail.reload();
  });
  const removeImage = (mediaId: string) => void guarded(async () => {
    const answer = (await request(ProductMediaDeleteDocument, { id: mediaId })).productMediaDelete;
    if (answer?.errors.length) setErrors(byField(answer.errors));
    await detail.reload();
  });
  const moveImage = (index: number, by: number) => void guarded(async () => {
    const ids = product!.media.map((m) => m.id);
    const [moved] = ids.splice(index, 1);
    ids.splice(index + by, 0, moved);
    const answer = (await request(ProductMediaReorderDocument, { product: product!.id, media: ids })).productMediaReorder;
    if (answer?.errors.length) setErrors(byField(answer.errors));
    await detail.reload();
  });

  const revision = product?.pendingRevision;
  const canSubmit = product && ["DRAFT", "REJECTED", "DELISTED"].includes(product.status);

  return (
    <>
      <PageTitle
        actions={product && (
          <>
            {canSubmit && <button type="button" className="primary" disabled={busy} onClick={submit}>{t("Submit for review")}</button>}
            {product.status === "PUBLISHED" && <button type="button" disabled={busy} onClick={delist}>{t("Delist")}</button>}
          </>
        )}
      >
        {product ? product.name : t("New product")} {product && <Status value={product.status} />}
      </PageTitle>
      {done && <Notice>{done}</Notice>}
      <ErrorBanner error={failure ?? errors[""]} />
      {product?.status === "REJECTED" && product.statusReason && <div className="banner banner-error" role="note"><strong>{t("Rejected")}:</strong> {product.statusReason}</div>}
      {product?.status === "PENDING_REVIEW" && <p className="hint">{t("Waiting for review since")} <When value={product.reviewRequestedAt} /></p>}
      {revision && (
        <section className="card revision" aria-labelledby="revision-title">
          <h2 id="revision-title">{t("A revision is waiting for review")}</h2>
          <p>{t("Shoppers see the live version until staff approve the revision.")}</p>
          <div className="side-by-side">
            <div>
              <h3>{t("Live version")}</h3>
              <p><strong>{product!.name}</strong> · {product!.category.name}</p>
              <p className="pre">{product!.description}</p>
              <ul className="plain">{product!.attributes.map((a) => <li key={a.slug}>{a.name}: {a.value}</li>)}</ul>
            </div>
            <div>
              <h3>{t("Pending revision")}</h3>
              <p><strong>{revision.name}</strong> · {revision.category.name}</p>
              <p className="pre">{revision.description}</p>
              <ul className="plain">{revision.attributes.map((a) => <li key={a.slug}>{a.name}: {a.value}</li>)}</ul>
              {revision.mediaAdded.length > 0 && <p>{t("Pictures added")}: {revision.mediaAdded.map((m) => m.url && <img key={m.id} className="thumb" src={m.url} alt="" />)}</p>}
              {revision.mediaRemoved.length > 0 && <p>{t("Pictures removed")}: {revision.mediaRemoved.map((m) => m.url && <img key={m.id} className="thumb" src={m.url} alt="" />)}</p>}
            </div>
          </div>
        </section>
      )}
      {product?.revisions.filter((r) => r.status === "REJECTED").slice(0, 1).map((r) => <p key={r.id} className="warning">{t("Last revision rejected")}: {r.reason}</p>)}
      <form onSubmit={save} noValidate className="stack">
        <section className="card">
          <h2>{t("Listing")}</h2>
          <Select label={t("Category")} value={form.category} onChange={(e) => setForm({ ...form, category: e.target.value })} error={errors.category}>
            <option value="">{t("Choose…")}</option>
            {categories.data?.categories.map((c) => <option key={c.id} value={c.id}>{c.parent ? "— " : ""}{c.name}</option>)}
          </Select>
          <TextField label={t("Name")} value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} error={errors.name} required />
          <TextArea label={t("Description")} value={form.description} onChange={(e) => setForm({ ...form, description: e.target.value })} error={errors.description} />
          {productAttributes.map((attribute) => (
            attribute.choices.length ? (
              <Select key={attribute.slug} label={attribute.name + (attribute.required ? " *" : "")} value={form.attributes[attribute.slug] ?? ""} onChange={(e) => setForm({ ...form, attributes: { ...form.attributes, [attribute.slug]: e.target.value } })} error={errors[`attribute.${attribute.slug}`] ?? errors.attributes}>
                <option value="">{t("Choose…")}</option>
                {attribute.choices.map((choice) => <option key={choice} value={choice}>{choice}</option>)}
              </Select>
            ) : (
              <TextField key={attribute.slug} label={attribute.name + (attribute.required ? " *" : "")} value={form.attributes[attribute.slug] ?? ""} onChange={(e) => setForm({ ...form, attributes: { ...form.attributes, [attribute.slug]: e.target.value } })} error={errors[`attribute.${attribute.slug}`] ?? errors.attributes} />
            )
          ))}
        </section>
        <section className="card" aria-labelledby="variants-title">
          <h2 id="variants-title">{t("Variants")}</h2>
          {errors.variants && <p className="field-error" role="alert">{errors.variants}</p>}
          {form.variants.map((row, index) => (
            <fieldset key={row.id ?? `new-${index}`} className="variant">
              <legend>{t("Variant {number}", { number: index + 1 })}</legend>
              <TextField label="SKU" value={row.sku} onChange={(e) => setRow(index, { sku: e.target.value })} error={rowErrors[index]?.sku} />
              <TextField label={t("Price (CNY)")} inputMode="decimal" value={row.price} onChange={(e) => setRow(index, { price: e.target.value })} error={rowErrors[index]?.price} />
              <TextField label={t("Stock")} inputMode="numeric" value={row.stock} onChange={(e) => setRow(index, { stock: e.target.value })} error={rowErrors[index]?.stock} />
              <TextField label={t("Weight (kg)")} inputMode="decimal" value={row.weight} onChange={(e) => setRow(index, { weight: e.target.value })} error={rowErrors[index]?.weight} />
              {variantAttributes.map((attribute) => (
                attribute.choices.length ? (
                  <Select key={attribute.slug} label={attribute.name} value={row.attributes[attribute.slug] ?? ""} onChange={(e) => setRow(index, { attributes: { ...row.attributes, [attribute.slug]: e.target.value } })} error={rowErrors[index]?.attributes}>
                    <option value="">{t("Choose…")}</option>
                    {attribute.choices.map((choice) => <option key={choice} value={choice}>{choice}</option>)}
                  </Select>
                ) : (
                  <TextField key={attribute.slug} label={attribute.name} value={row.attributes[attribute.slug] ?? ""} onChange={(e) => setRow(index, { attributes: { ...row.attributes, [attribute.slug]: e.target.value } })} error={rowErrors[index]?.attributes} />
                )
              ))}
              {rowErrors[index]?.[""] && <p className="field-error" role="alert">{rowErrors[index][""]}</p>}
              <button type="button" className="link" onClick={() => setForm({ ...form, variants: form.variants.filter((_, i) => i !== index) })}>{t("Remove variant")}</button>
            </fieldset>
          ))}
          <button type="button" onClick={() => setForm({ ...form, variants: [...form.variants, { sku: "", price: "", stock: "0", weight: "", attributes: {} }] })}>{t("Add variant")}</button>
        </section>
        <section className="card" aria-labelledby="images-title">
          <h2 id="images-title">{t("Pictures")}</h2>
          {product && product.media.length > 0 ? (
            <ol className="media">
              {product.media.map((media, index) => (
                <li key={media.id}>
                  {media.url && <img src={media.url} alt={t("Picture {number}", { number: index + 1 })} width={120} height={120} />}
                  <span className="hint">{media.width}×{media.height}{!media.isLive && ` · ${t("waiting for review")}`}{media.removalRequested && ` · ${t("removal waiting for review")}`}</span>
                  <div className="actions">
                    <button type="button" disabled={busy || index === 0} onClick={() => moveImage(index, -1)} aria-label={t("Move picture {number} earlier", { number: index + 1 })}>↑</button>
                    <button type="button" disabled={busy || index === product.media.length - 1} onClick={() => moveImage(index, 1)} aria-label={t("Move picture {number} later", { number: index + 1 })}>↓</button>
                    <button type="button" className="link" disabled={busy} onClick={() => removeImage(media.id)}>{t("Delete")}</button>
                  </div>
                </li>
              ))}
            </ol>
          ) : <p className="hint">{t("No pictures yet. Listings need at least one, 400×400 pixels or larger, to be submitted.")}</p>}
          <FileDrop label={t("Add pictures")} files={images} onChange={setImages} types={IMAGE_TYPES} error={errors.images ?? errors.image} />
        </section>
        <div className="actions sticky-actions">
          <button type="submit" className="primary" disabled={busy}>{product ? t("Save") : t("Create draft")}</button>
          <Link to="/products">{t("Back to products")}</Link>
        </div>
      </form>
    </>
  );
}

import { useState } from "react";
import { Link, useSearchParams } from "react-router-dom";
import { ProductListDocument, type ListingStatus } from "../gql/graphql";
import { useVendorId } from "../lib/auth";
import { useI18n } from "../lib/i18n";
import { useQuery } from "../lib/useQuery";
import { Empty, ErrorBanner, Loading, Money, PageTitle, Pager, Select, Status, TextField, When } from "../components/ui";

const STATUSES: ListingStatus[] = ["DRAFT", "PENDING_REVIEW", "PUBLISHED", "REJECTED", "DELISTED"];

export function ProductsPage() {
  const vendor = useVendorId();
  const { t } = useI18n();
  const [params, setParams] = useSearchParams();
  const status = (params.get("status") || "") as ListingStatus | "";
  const search = params.get("q") || "";
  const [typed, setTyped] = useState(search);
  const [cursors, setCursors] = useState<string[]>([]);
  const { data, error, loading } = useQuery(ProductListDocument, {
    first: 20,
    after: cursors[cursors.length - 1],
    filter: { vendor, status: status || undefined, search: search || undefined },
  });
  const set = (name: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(name, value);
    else next.delete(name);
    setParams(next, { replace: true });
    setCursors([]);
  };
  const products = data?.products;
  return (
    <>
      <PageTitle actions={<Link className="button primary" to="/products/new">{t("New product")}</Link>}>{t("Products")}</PageTitle>
      <form className="filters" role="search" onSubmit={(e) => { e.preventDefault(); set("q", typed.trim()); }}>
        <Select label={t("Status")} value={status} onChange={(e) => set("status", e.target.value)}>
          <option value="">{t("All")}</option>
          {STATUSES.map((s) => <option key={s} value={s}>{t(`status.${s}`)}</option>)}
        </Select>
        <TextField label={t("Search")} type="search" value={typed} onChange={(e) => setTyped(e.target.value)} />
        <button type="submit">{t("Search")}</button>
      </form>
      <ErrorBanner error={error} />
      {loading && !data ? <Loading /> : products && products.edges.length === 0 ? (
        status || search
          ? <Empty title={t("No listing matches. Try another status or search.")} />
          : <Empty title={t("No listings yet. Create your first product, add pictures and submit it for review.")} action={{ to: "/products/new", label: t("New product") }} />
      ) : products && (
        <>
          <p className="count-line">{t("{count} listings", { count: products.totalCount })}</p>
          <div className="table-wrap">
            <table>
              <thead><tr><th scope="col"><span className="visually-hidden">{t("Picture")}</span></th><th scope="col">{t("Name")}</th><th scope="col">{t("Category")}</th><th scope="col">{t("Price")}</th><th scope="col">{t("Status")}</th><th scope="col">{t("Updated")}</th></tr></thead>
              <tbody>
                {products.edges.map((edge) => {
                  const p = edge?.node;
                  if (!p) return null;
                  return (
                    <tr key={p.id}>
                      <td>{p.thumbnail?.url ? <img className="thumb" src={p.thumbnail.url} alt="" width={48} height={48} /> : <span className="thumb thumb-empty" />}</td>
                      <td><Link to={`/products/${p.id}`}>{p.name}</Link>{p.status === "REJECTED" && p.statusReason && <div className="hint">{p.statusReason}</div>}</td>
                      <td>{p.category.name}</td>
                      <td>{p.priceRange ? <><Money value={p.priceRange.start} />{p.priceRange.stop && p.priceRange.stop.amount !== p.priceRange.start?.amount && <> – <Money value={p.priceRange.stop} /></>}</> : "—"}</td>
                      <td><Status value={p.status} />{p.pendingRevision && <> <span className="badge badge-revision">{t("Revision waiting")}</span></>}</td>
                      <td><When value={p.updatedAt} /></td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          <Pager hasNext={products.pageInfo.hasNextPage} isFirst={cursors.length === 0} onFirst={() => setCursors([])} onNext={() => products.pageInfo.endCursor && setCursors([...cursors, products.pageInfo.endCursor])} />
        </>
      )}
    </>
  );
}

import { useState } from "react";
import { Link, useSearchParams } from "react-router-dom";
import { OrderListDocument, type OrderStatus } from "../gql/graphql";
import { useVendorId } from "../lib/auth";
import { useI18n } from "../lib/i18n";
import { useQuery } from "../lib/useQuery";
import { Empty, ErrorBanner, Loading, Money, PageTitle, Pager, Select, Status, TextField, When } from "../components/ui";

export const ORDER_STATUSES: OrderStatus[] = ["UNPAID", "PAID", "SHIPPED", "DELIVERED", "COMPLETED", "CANCELLED", "REFUNDED"];

/** The start (or end) of a day in the user's time zone, as an instant for the API. */
function dayBound(day: string, end: boolean): string | undefined {
  if (!day) return undefined;
  const [y, m, d] = day.split("-").map(Number);
  return (end ? new Date(y, m - 1, d, 23, 59, 59, 999) : new Date(y, m - 1, d)).toISOString();
}

export function OrdersPage() {
  const vendor = useVendorId();
  const { t } = useI18n();
  const [params, setParams] = useSearchParams();
  const status = (params.get("status") || "") as OrderStatus | "";
  const from = params.get("from") || "";
  const to = params.get("to") || "";
  const [cursors, setCursors] = useState<string[]>([]);
  const after = cursors[cursors.length - 1];
  const filter = { vendor, status: status || undefined, createdGte: dayBound(from, false), createdLte: dayBound(to, true) };
  const { data, error, loading } = useQuery(OrderListDocument, { first: 20, after, filter });
  const set = (name: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(name, value);
    else next.delete(name);
    setParams(next, { replace: true });
    setCursors([]);
  };
  const orders = data?.orders;
  return (
    <>
      <PageTitle>{t("Orders")}</PageTitle>
      <form className="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <Select label={t("Status")} value={status} onChange={(e) => set("status", e.target.value)}>
          <option value="">{t("All")}</option>
          {ORDER_STATUSES.map((s) => <option key={s} value={s}>{t(`status.${s}`)}</option>)}
        </Select>
        <TextField label={t("Placed from")} type="date" value={from} onChange={(e) => set("from", e.target.value)} />
        <TextField label={t("Placed until")} type="date" value={to} onChange={(e) => set("to", e.target.value)} />
      </form>
      <ErrorBanner error={error} />
      {loading && !data ? <Loading /> : orders && orders.edges.length === 0 ? (
        <Empty title={status || from || to ? t("No order matches these filters. Clear them to see every order.") : t("No orders yet. Orders appear here once shoppers pay.")} />
      ) : orders && (
        <>
          <p className="count-line">{t("{count} orders", { count: orders.totalCount })}</p>
          <div className="table-wrap">
            <table>
              <thead><tr><th scope="col">{t("Order")}</th><th scope="col">{t("Placed")}</th><th scope="col">{t("Shopper")}</th><th scope="col">{t("Items")}</th><th scope="col">{t("Total")}</th><th scope="col">{t("Status")}</th></tr></thead>
              <tbody>
                {orders.edges.map((edge) => edge?.node && (
                  <tr key={edge.node.id}>
                    <td><Link to={`/orders/${edge.node.id}`}>{edge.node.number}</Link></td>
                    <td><When value={edge.node.createdAt} /></td>
                    <td>{edge.node.email}</td>
                    <td>{edge.node.lines.reduce((sum, line) => sum + line.quantity, 0)}</td>
                    <td><Money value={edge.node.total} /></td>
                    <td><Status value={edge.node.status} /> <Status value={edge.node.paymentStatus} /></td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager hasNext={orders.pageInfo.hasNextPage} isFirst={cursors.length === 0} onFirst={() => setCursors([])} onNext={() => orders.pageInfo.endCursor && setCursors([...cursors, orders.pageInfo.endCursor])} />
        </>
      )}
    </>
  );
}

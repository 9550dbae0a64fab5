import { useParams } from "react-router-dom";
import { OrderDetailDocument } from "../gql/graphql";
import { useI18n } from "../lib/i18n";
import { useQuery } from "../lib/useQuery";
import { ErrorBanner, Loading, When } from "../components/ui";

/** A page for the printer: the address, the lines and quantities, no prices. */
export function PackingSlipPage() {
  const { id = "" } = useParams();
  const { t } = useI18n();
  const { data, error, loading } = useQuery(OrderDetailDocument, { id });
  if (loading && !data) return <Loading />;
  const order = data?.order;
  if (!order) return <ErrorBanner error={error ?? t("No such order in your store.")} />;
  const a = order.shippingAddress;
  return (
    <main id="main" className="packing-slip">
      <div className="no-print actions"><button type="button" className="primary" onClick={() => window.print()}>{t("Print")}</button></div>
      <h1>{t("Packing slip")} · {order.number}</h1>
      <p>{order.vendor.name} · <When value={order.createdAt} /></p>
      <h2>{t("Ship to")}</h2>
      <address>{a.firstName} {a.lastName}<br />{a.streetAddress1}{a.streetAddress2 && <>, {a.streetAddress2}</>}<br />{a.city} {a.postalCode} ({a.region})<br />{a.phone}</address>
      <table>
        <thead><tr><th scope="col">SKU</th><th scope="col">{t("Product")}</th><th scope="col">{t("Quantity")}</th><th scope="col">{t("Packed")}</th></tr></thead>
        <tbody>
          {order.lines.map((line) => <tr key={line.id}><td>{line.variantSku}</td><td>{line.productName}</td><td>{line.quantity}</td><td className="tick">☐</td></tr>)}
        </tbody>
      </table>
      <p>{t("Service")}: {order.shippingMethod.serviceName || order.shippingMethod.serviceCode}{order.shipment && <> · {t("Tracking number")}: {order.shipment.trackingNumber}</>}</p>
    </main>
  );
}

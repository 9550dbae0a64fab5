import { useEffect } from "react";
import { BrowserRouter, Navigate, Route, Routes } from "react-router-dom";
import { AuthProvider, useAuth } from "./lib/auth";
import { configureClient } from "./lib/client";
import { I18nProvider, useI18n } from "./lib/i18n";
import { Layout } from "./components/Layout";
import { Loading } from "./components/ui";
import { SignInPage } from "./pages/SignIn";
import { HomePage } from "./pages/Home";
import { OrdersPage } from "./pages/Orders";
import { OrderPage } from "./pages/Order";
import { PackingSlipPage } from "./pages/PackingSlip";
import { ProductsPage } from "./pages/Products";
import { ProductPage } from "./pages/Product";
import { DisputesPage } from "./pages/Disputes";
import { DisputePage } from "./pages/Dispute";
import { MoneyPage } from "./pages/Money";
import { StorePage } from "./pages/Store";
import { ApplyPage } from "./pages/Apply";
import { NotFoundPage } from "./pages/NotFound";

function Routed() {
  const { status, me } = useAuth();
  const { language } = useI18n();
  useEffect(() => configureClient({ language: () => language }), [language]);
  if (status === "loading") return <Loading />;
  if (status === "signedOut") return <SignInPage />;
  const hasStore = Boolean(me?.vendorMembership);
  return (
    <Routes>
      <Route path="/orders/:id/packing-slip" element={<PackingSlipPage />} />
      <Route
        path="*"
        element={
          <Layout>
            <Routes>
              <Route path="/" element={hasStore ? <HomePage /> : <Navigate to="/apply" replace />} />
              <Route path="/apply" element={<ApplyPage />} />
              <Route path="/orders" element={<OrdersPage />} />
              <Route path="/orders/:id" element={<OrderPage />} />
              <Route path="/products" element={<ProductsPage />} />
              <Route path="/products/new" element={<ProductPage />} />
              <Route path="/products/:id" element={<ProductPage />} />
              <Route path="/disputes" element={<DisputesPage />} />
              <Route path="/disputes/:id" element={<DisputePage />} />
              <Route path="/money" element={<MoneyPage />} />
              <Route path="/store" element={<StorePage />} />
              <Route path="*" element={<NotFoundPage />} />
            </Routes>
          </Layout>
        }
      />
    </Routes>
  );
}

export function App() {
  return (
    <I18nProvider>
      <BrowserRouter basename="/console">
        <AuthProvider>
          <Routed />
        </AuthProvider>
      </BrowserRouter>
    </I18nProvider>
  );
}

"""GraphQL documents of the checkout and order flows, for both APIs."""

ERRORS = "errors { field code message }"
MONEY = "{ amount currency }"

CHECKOUT_FIELDS = f"""
  id email completedAt
  shippingAddress {{ region streetAddress1 }}
  lines {{ id quantity variant {{ id sku }} unitPrice {MONEY} totalPrice {MONEY} }}
  packages {{
    vendor {{ id name }}
    lines {{ quantity variant {{ sku }} }}
    shippingQuotes {{ carrier serviceCode amount {MONEY} promisedDays }}
    shippingMethod {{ carrier serviceCode amount {MONEY} }}
    subtotal {MONEY} shippingPrice {MONEY} total {MONEY}
  }}
  subtotal {MONEY} shippingPrice {MONEY} totalPrice {MONEY}
  problems {{ code message line vendor }}
  availablePaymentGateways {{ id name }}
"""

CHECKOUT_CREATE = f"""
mutation($input: CheckoutCreateInput!) {{
  checkoutCreate(input: $input) {{ checkout {{ {CHECKOUT_FIELDS} }} {ERRORS} }}
}}"""
CHECKOUT_LINES_ADD = f"""
mutation($id: ID!, $lines: [CheckoutLineInput!]!) {{
  checkoutLinesAdd(id: $id, lines: $lines) {{ checkout {{ {CHECKOUT_FIELDS} }} {ERRORS} }}
}}"""
CHECKOUT_LINES_UPDATE = f"""
mutation($id: ID!, $lines: [CheckoutLineUpdateInput!]!) {{
  checkoutLinesUpdate(id: $id, lines: $lines) {{ checkout {{ {CHECKOUT_FIELDS} }} {ERRORS} }}
}}"""
CHECKOUT_LINES_DELETE = f"""
mutation($id: ID!, $linesIds: [ID!]!) {{
  checkoutLinesDelete(id: $id, linesIds: $linesIds) {{ checkout {{ {CHECKOUT_FIELDS} }} {ERRORS} }}
}}"""
CHECKOUT_ADDRESS = f"""
mutation($id: ID!, $address: CheckoutAddressInput!) {{
  checkoutShippingAddressUpdate(id: $id, address: $address) {{ checkout {{ {CHECKOUT_FIELDS} }} {ERRORS} }}
}}"""
CHECKOUT_SHIPPING = f"""
mutation($id: ID!, $vendor: ID!, $carrier: String!, $serviceCode: String) {{
  checkoutShippingMethodUpdate(id: $id, vendor: $vendor, carrier: $carrier, serviceCode: $serviceCode) {{
    checkout {{ {CHECKOUT_FIELDS} }} {ERRORS}
  }}
}}"""
CHECKOUT_COMPLETE = f"""
mutation($id: ID!, $payment: PaymentInput!) {{
  checkoutComplete(id: $id, payment: $payment) {{
    orders {{ id number status paymentStatus vendor {{ id name }} total {MONEY} }}
    payment {{ id gateway status total {MONEY} captured {MONEY} }}
    checkout {{ id completedAt }}
    {ERRORS}
  }}
}}"""
CHECKOUT_QUERY = f"""
query($id: ID!) {{ checkout(id: $id) {{ {CHECKOUT_FIELDS} orders {{ id }} payment {{ id }} }} }}"""

STOREFRONT_ORDER_FIELDS = f"""
  id number status paymentStatus confirmDeadline confirmationExtended canCancel
  vendor {{ id name }}
  lines {{ productName variantSku quantity unitPrice {MONEY} total {MONEY} }}
  subtotal {MONEY} shippingPrice {MONEY} total {MONEY} refunded {MONEY}
  payments {{ gateway status total {MONEY} captured {MONEY} refunded {MONEY} }}
  shippingMethod {{ carrier serviceCode }}
  shipments {{ carrier trackingNumber status events {{ status occurredAt location description }} }}
"""
STOREFRONT_ORDER = f"""
query($id: ID!) {{ order(id: $id) {{ {STOREFRONT_ORDER_FIELDS} }} }}"""
MY_ORDERS = f"""
query {{ me {{ email orders(first: 20) {{ totalCount edges {{ node {{ {STOREFRONT_ORDER_FIELDS} }} }} }} }} }}"""
ORDER_CONFIRM_RECEIPT = f"""
mutation($id: ID!) {{ orderConfirmReceipt(id: $id) {{ order {{ id status paymentStatus }} {ERRORS} }} }}"""
ORDER_EXTEND = f"""
mutation($id: ID!) {{ orderExtendConfirmation(id: $id) {{ order {{ id confirmDeadline confirmationExtended }} {ERRORS} }} }}"""
STOREFRONT_ORDER_CANCEL = f"""
mutation($id: ID!, $reason: String!) {{
  orderCancel(id: $id, reason: $reason) {{ order {{ id status paymentStatus refunded {MONEY} }} {ERRORS} }}
}}"""

CORE_ORDER_FIELDS = f"""
  id number status paymentStatus email createdAt autoConfirmAt releaseFrozen
  vendor {{ id name }}
  lines {{ productName variantSku quantity unitPrice {MONEY} total {MONEY} commissionRate }}
  subtotal {MONEY} shippingPrice {MONEY} total {MONEY} refunded {MONEY} commission {MONEY}
  shippingMethod {{ carrier serviceCode serviceName price {MONEY} }}
  shippingAddress {{ region streetAddress1 firstName }}
  shipment {{ id trackingNumber status events {{ status occurredAt }} }}
"""
CORE_ORDERS = f"""
query($filter: OrderFilterInput, $first: Int) {{
  orders(filter: $filter, first: $first) {{ totalCount edges {{ node {{ {CORE_ORDER_FIELDS} }} }} }}
}}"""
CORE_ORDER = f"""
query($id: ID!) {{ order(id: $id) {{ {CORE_ORDER_FIELDS} }} }}"""
ORDER_SHIP = f"""
mutation($id: ID!, $input: OrderShipInput!) {{
  orderShip(id: $id, input: $input) {{ order {{ id status shipment {{ trackingNumber }} }} {ERRORS} }}
}}"""
CORE_ORDER_CANCEL = f"""
mutation($id: ID!, $reason: String!) {{
  orderCancel(id: $id, reason: $reason) {{ order {{ id status paymentStatus refunded {MONEY} }} {ERRORS} }}
}}"""
VENDOR_BALANCE = f"""
query($vendor: ID!) {{ vendorBalance(vendor: $vendor) {{ pending {MONEY} available {MONEY} }} }}"""

PAYMENT_SESSION_FIELDS = f"id gateway state clientData amount {MONEY} expiresAt"
CHECKOUT_PAYMENT_CREATE = f"""
mutation($id: ID!, $gateway: String!, $returnUrl: String) {{
  checkoutPaymentCreate(id: $id, gateway: $gateway, returnUrl: $returnUrl) {{
    paymentSession {{ {PAYMENT_SESSION_FIELDS} }}
    checkout {{ id totalPrice {MONEY} }}
    {ERRORS}
  }}
}}"""
CHECKOUT_COMPLETE_SESSION = f"""
mutation($id: ID!, $paymentSession: String!) {{
  checkoutComplete(id: $id, paymentSession: $paymentSession) {{
    orders {{ id number status paymentStatus total {MONEY} payments {{ gateway status total {MONEY} captured {MONEY} }} }}
    payment {{ id gateway status total {MONEY} captured {MONEY} }}
    checkout {{ id completedAt }}
    {ERRORS}
  }}
}}"""

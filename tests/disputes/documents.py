"""GraphQL documents the dispute tests send (the same ones the README shows)."""

DISPUTE_FIELDS = """
  id status reason kind description deadlineAt
  requested { amount currency } refunded { amount currency }
  messages { role body evidence { thumbnailUrl url width height } }
  ruling { outcome source amount { amount } note depositPenalty { amount } }
"""

# --- Storefront ---
SF_DISPUTE_OPEN = """
mutation($order: ID!, $input: DisputeOpenInput!) {
  disputeOpen(order: $order, input: $input) {
    dispute { %s canEscalate awaitingReturnShipment lines { quantity orderLine { id productName } } }
    errors { field code message }
  }
}""" % DISPUTE_FIELDS
SF_DISPUTE_MESSAGE_ADD = """
mutation($id: ID!, $input: DisputeMessageInput!) {
  disputeMessageAdd(id: $id, input: $input) {
    message { role body evidence { thumbnailUrl url } }
    dispute { id messages { role } }
    errors { field code message }
  }
}"""
SF_DISPUTE_ESCALATE = """
mutation($id: ID!, $message: String) {
  disputeEscalate(id: $id, message: $message) { dispute { id status canEscalate } errors { field code message } }
}"""
SF_DISPUTE_WITHDRAW = """
mutation($id: ID!) {
  disputeWithdraw(id: $id, message: "Sorted it out with the store.") {
    dispute { id status ruling { source } } errors { field code message }
  }
}"""
SF_DISPUTE_RETURN_SHIP = """
mutation($id: ID!, $carrier: String!, $trackingNumber: String!) {
  disputeReturnShip(id: $id, carrier: $carrier, trackingNumber: $trackingNumber) {
    dispute { id status returnShipment { carrier trackingNumber status } }
    errors { field code message }
  }
}"""
SF_DISPUTE = "query($id: ID!) { dispute(id: $id) { %s returnShipment { trackingNumber } } }" % DISPUTE_FIELDS
SF_DISPUTES = """
query($order: ID) {
  disputes(first: 10, order: $order) { totalCount edges { node { id status order { id } } } }
}"""

# --- Core API ---
DISPUTE_RESPOND = """
mutation($id: ID!, $input: DisputeRespondInput!) {
  disputeRespond(id: $id, input: $input) { dispute { %s } errors { field code message } }
}""" % DISPUTE_FIELDS
DISPUTE_RETURN_RECEIVED = """
mutation($id: ID!) {
  disputeReturnReceived(id: $id) { dispute { id status refunded { amount } returnReceivedAt } errors { field code message } }
}"""
DISPUTE_ESCALATE = """
mutation($id: ID!, $message: String) {
  disputeEscalate(id: $id, message: $message) { dispute { id status } errors { field code message } }
}"""
DISPUTE_RESOLVE = """
mutation($id: ID!, $input: DisputeResolveInput!) {
  disputeResolve(id: $id, input: $input) { dispute { %s } errors { field code message } }
}""" % DISPUTE_FIELDS
DISPUTE_MESSAGE_ADD = """
mutation($id: ID!, $input: DisputeMessageInput!) {
  disputeMessageAdd(id: $id, input: $input) {
    message { role body evidence { url } } errors { field code message }
  }
}"""
DISPUTE = """
query($id: ID!) {
  dispute(id: $id) {
    %s
    order { id status releaseFrozen }
    vendor { id name }
    lines { quantity orderLine { id productName } }
    returnShipment { trackingNumber reference }
    suggestion { outcome amount { amount } depositPenalty { amount } reason }
  }
}""" % DISPUTE_FIELDS
DISPUTES = """
query($first: Int, $filter: DisputeFilterInput) {
  disputes(first: $first, filter: $filter) {
    totalCount
    edges { node {
      id status deadlineAt requested { amount }
      order { id } vendor { name } lines { quantity orderLine { productName } }
      messages { role evidence { thumbnailUrl } }
      returnShipment { trackingNumber }
    } }
  }
}"""
VENDOR_DISPUTE_STATS = """
query($vendor: ID!) {
  vendorDisputeStats(vendor: $vendor) {
    days paidOrders disputedOrders refundedDisputes refundedAmount { amount } disputeRate refundRate
  }
}"""

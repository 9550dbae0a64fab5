"""Local fakes of payment gateways' HTTP endpoints, for tests without the internet."""

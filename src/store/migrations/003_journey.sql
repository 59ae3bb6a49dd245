-- Per-workspace journey settings (channel rules, stage model, sessions) set through the API.
CREATE TABLE journey_settings (
  workspace_id VARCHAR PRIMARY KEY,
  settings JSON NOT NULL,
  updated_at TIMESTAMP NOT NULL
);

-- Signing secrets of webhook endpoints (Stripe's whsec_…), per workspace and provider.
CREATE TABLE webhook_endpoints (
  workspace_id VARCHAR NOT NULL,
  provider VARCHAR NOT NULL,
  secret VARCHAR NOT NULL,
  updated_at TIMESTAMP NOT NULL,
  PRIMARY KEY (workspace_id, provider)
);

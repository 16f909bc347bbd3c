create index audit_log_org_at_idx on audit_log (org_id, seq desc);

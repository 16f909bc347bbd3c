-- audit_log's unique (org_id, seq) index already serves every read of a workspace's newest entries (scanned backwards)
-- and the chain trigger's lookup of the last entry. The second index on the same columns only cost every mutation of
-- every workspace one more index insertion.
drop index audit_log_org_at_idx;

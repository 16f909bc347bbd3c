drop table if exists audit_log, jobs, invites, activities, deals, contacts, pipeline_stages, pipelines, auth_throttle,
    sessions, memberships, organizations, users cascade;
drop function if exists audit_log_append_only(), audit_log_chain(), set_updated_at(), app_user_id(), app_org_id();
-- The clearview_app role is shared by every database of the cluster, so it stays.

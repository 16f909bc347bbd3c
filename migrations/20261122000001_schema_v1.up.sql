-- Schema v1: identity, workspaces, the CRM's tenant tables, audit, jobs.
-- Tenancy (ARCHITECTURE §3): every tenant table carries org_id, has unique (org_id, id), references other tenant rows
-- through composite keys, and is guarded by a FORCEd row-level security policy on app.org_id.

create extension if not exists citext;
create extension if not exists pg_trgm;

-- The role requests run as (SET LOCAL ROLE): never a superuser, so row-level security always applies.
do $$
begin
    create role clearview_app nologin;
exception when duplicate_object or unique_violation then
    null; -- another database of this cluster (or a concurrent test) created it
end
$$;

do $$
begin
    execute format('grant clearview_app to %I', current_user);
exception when others then
    null; -- already a member, or a superuser (who needs no grant)
end
$$;

grant usage on schema public to clearview_app;

-- The workspace and person a transaction acts for; null when unset.
create function app_org_id() returns uuid
    language sql stable
    as $$ select nullif(current_setting('app.org_id', true), '')::uuid $$;

create function app_user_id() returns uuid
    language sql stable
    as $$ select nullif(current_setting('app.user_id', true), '')::uuid $$;

create function set_updated_at() returns trigger
    language plpgsql
    as $$
begin
    new.updated_at = now();
    return new;
end
$$;

-- Identity ---------------------------------------------------------------------------------------------------------

create table users (
    id uuid primary key,
    email citext not null,
    name text not null check (char_length(name) between 1 and 100),
    password_hash text not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint users_email_key unique (email)
);
create trigger users_updated_at before update on users for each row execute function set_updated_at();

create table organizations (
    id uuid primary key,
    name text not null check (char_length(name) between 1 and 100),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create trigger organizations_updated_at before update on organizations for each row execute function set_updated_at();

create table memberships (
    org_id uuid not null references organizations (id) on delete cascade,
    user_id uuid not null references users (id) on delete cascade,
    role text not null check (role in ('rep', 'manager', 'admin')),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (org_id, user_id)
);
create index memberships_user_idx on memberships (user_id);
create trigger memberships_updated_at before update on memberships for each row execute function set_updated_at();

-- tower-sessions' PostgreSQL store (id, MessagePack data, expiry).
create table sessions (
    id text primary key,
    data bytea not null,
    expiry_date timestamptz not null
);
create index sessions_expiry_idx on sessions (expiry_date);

-- Failed sign-in attempts per key ("account:<email>", "ip:<address>") for throttling.
create table auth_throttle (
    key text primary key,
    failures integer not null,
    window_started_at timestamptz not null
);

-- Pipelines and stages (D-002: stages are entities owned by a pipeline) --------------------------------------------

create table pipelines (
    id uuid primary key,
    org_id uuid not null references organizations (id) on delete cascade,
    name text not null check (char_length(name) between 1 and 100),
    position integer not null default 0,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (org_id, id),
    constraint pipelines_name_key unique (org_id, name)
);
create trigger pipelines_updated_at before update on pipelines for each row execute function set_updated_at();

create table pipeline_stages (
    id uuid primary key,
    org_id uuid not null,
    pipeline_id uuid not null,
    name text not null check (char_length(name) between 1 and 100),
    position integer not null,
    probability smallint not null check (probability between 0 and 100),
    kind text not null default 'open' check (kind in ('open', 'won', 'lost')),
    rot_days integer check (rot_days > 0),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (org_id, id),
    unique (org_id, pipeline_id, id),
    constraint pipeline_stages_position_key unique (org_id, pipeline_id, position) deferrable initially deferred,
    foreign key (org_id, pipeline_id) references pipelines (org_id, id) on delete cascade
);
create trigger pipeline_stages_updated_at before update on pipeline_stages for each row execute function set_updated_at();

-- Contacts, deals, activities ----------------------------------------------------------------------------------------

create table contacts (
    id uuid primary key,
    org_id uuid not null references organizations (id) on delete cascade,
    first_name text not null check (char_length(first_name) between 1 and 100),
    last_name text not null check (char_length(last_name) between 0 and 100),
    email citext,
    phone text,
    company text,
    title text,
    owner_id uuid,
    version integer not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (org_id, id),
    -- A member who leaves keeps nothing: their contacts stay with the workspace, unowned.
    foreign key (org_id, owner_id) references memberships (org_id, user_id) on delete set null (owner_id)
);
create trigger contacts_updated_at before update on contacts for each row execute function set_updated_at();

create table deals (
    id uuid primary key,
    org_id uuid not null references organizations (id) on delete cascade,
    pipeline_id uuid not null,
    stage_id uuid not null,
    contact_id uuid,
    owner_id uuid,
    title text not null check (char_length(title) between 1 and 200),
    amount_minor bigint check (amount_minor >= 0),
    currency char(3) not null default 'EUR',
    -- An explicit win probability set by a manager; null follows the stage's default.
    probability smallint check (probability between 0 and 100),
    -- Sortable position within the stage column: a move writes one row.
    position text not null collate "C",
    expected_close date,
    lost_reason text,
    closed_at timestamptz,
    stage_entered_at timestamptz not null default now(),
    version integer not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (org_id, id),
    foreign key (org_id, pipeline_id) references pipelines (org_id, id) on delete cascade,
    foreign key (org_id, pipeline_id, stage_id) references pipeline_stages (org_id, pipeline_id, id),
    foreign key (org_id, contact_id) references contacts (org_id, id) on delete set null (contact_id),
    foreign key (org_id, owner_id) references memberships (org_id, user_id) on delete set null (owner_id)
);
create index deals_board_idx on deals (org_id, pipeline_id, stage_id, position);
create index deals_contact_idx on deals (org_id, contact_id);
create trigger deals_updated_at before update on deals for each row execute function set_updated_at();

create table activities (
    id uuid primary key,
    org_id uuid not null references organizations (id) on delete cascade,
    kind text not null check (kind in ('call', 'email', 'meeting', 'note', 'task')),
    deal_id uuid,
    contact_id uuid,
    author_id uuid,
    subject text not null check (char_length(subject) between 1 and 200),
    body text,
    occurred_at timestamptz not null default now(),
    -- D-003: the per-kind details in one JSONB column, indexed with GIN.
    metadata jsonb not null default '{}'::jsonb check (jsonb_typeof(metadata) = 'object'),
    created_at timestamptz not null default now(),
    unique (org_id, id),
    foreign key (org_id, deal_id) references deals (org_id, id) on delete cascade,
    foreign key (org_id, contact_id) references contacts (org_id, id) on delete cascade,
    foreign key (org_id, author_id) references memberships (org_id, user_id) on delete set null (author_id)
);
create index activities_metadata_idx on activities using gin (metadata jsonb_path_ops);
create index activities_deal_idx on activities (org_id, deal_id, occurred_at desc);
create index activities_contact_idx on activities (org_id, contact_id, occurred_at desc);

-- Invitations, jobs, audit --------------------------------------------------------------------------------------------

create table invites (
    id uuid primary key,
    org_id uuid not null references organizations (id) on delete cascade,
    email citext not null,
    role text not null check (role in ('rep', 'manager', 'admin')),
    invited_by uuid,
    token_hash bytea not null,
    expires_at timestamptz not null,
    accepted_at timestamptz,
    created_at timestamptz not null default now(),
    unique (org_id, id),
    foreign key (org_id, invited_by) references memberships (org_id, user_id) on delete set null (invited_by)
);
create unique index invites_pending_email_key on invites (org_id, email) where accepted_at is null;

create table jobs (
    id uuid primary key,
    org_id uuid references organizations (id) on delete cascade,
    kind text not null,
    payload jsonb not null,
    status text not null default 'queued' check (status in ('queued', 'running', 'done', 'dead')),
    attempts integer not null default 0,
    max_attempts integer not null default 3,
    run_at timestamptz not null default now(),
    locked_at timestamptz,
    last_error text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index jobs_due_idx on jobs (run_at) where status = 'queued';
create index jobs_org_status_idx on jobs (org_id, status, created_at desc);
create trigger jobs_updated_at before update on jobs for each row execute function set_updated_at();

create table audit_log (
    id uuid primary key,
    org_id uuid not null references organizations (id) on delete cascade,
    seq bigint not null,
    at timestamptz not null default now(),
    -- Not a foreign key: when a person is erased their id stays here as a pseudonym nothing else links to.
    actor_id uuid,
    action text not null,
    entity_type text not null,
    entity_id uuid,
    request_id text,
    changes jsonb not null default '{}'::jsonb,
    prev_hash bytea not null,
    hash bytea not null,
    unique (org_id, seq)
);
create index audit_log_org_at_idx on audit_log (org_id, seq desc);

-- Chains each workspace's entries: hash = sha256(prev_hash || the entry's content). Editing or removing an entry breaks
-- every later hash, which `clearview audit verify` detects.
create function audit_log_chain() returns trigger
    language plpgsql
    as $$
declare
    prev record;
begin
    perform pg_advisory_xact_lock(hashtextextended('audit:' || new.org_id::text, 0));
    select seq, hash into prev from audit_log where org_id = new.org_id order by seq desc limit 1;
    if prev is null then
        new.seq := 1;
        new.prev_hash := '\x'::bytea;
    else
        new.seq := prev.seq + 1;
        new.prev_hash := prev.hash;
    end if;
    new.hash := sha256(new.prev_hash || convert_to(concat_ws('|', new.id, new.org_id, new.seq,
        to_char(new.at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'), new.actor_id, new.action, new.entity_type,
        new.entity_id, new.request_id, new.changes::text), 'UTF8'));
    return new;
end
$$;
create trigger audit_log_chain before insert on audit_log for each row execute function audit_log_chain();

-- Append-only: entries go only when their whole workspace is deleted.
create function audit_log_append_only() returns trigger
    language plpgsql
    as $$
begin
    if tg_op = 'DELETE' and not exists (select 1 from organizations where id = old.org_id) then
        return old;
    end if;
    raise exception 'audit_log is append-only' using errcode = 'insufficient_privilege';
end
$$;
create trigger audit_log_append_only before update or delete on audit_log
    for each row execute function audit_log_append_only();

-- Row-level security ---------------------------------------------------------------------------------------------------

alter table organizations enable row level security;
alter table organizations force row level security;
create policy tenant on organizations
    using (id = app_org_id() or exists (select 1 from memberships m where m.org_id = organizations.id and m.user_id = app_user_id()))
    with check (id = app_org_id());

alter table memberships enable row level security;
alter table memberships force row level security;
create policy tenant on memberships
    using (org_id = app_org_id() or user_id = app_user_id())
    with check (org_id = app_org_id());

do $$
declare
    t text;
begin
    foreach t in array array['pipelines', 'pipeline_stages', 'contacts', 'deals', 'activities', 'invites', 'audit_log']
    loop
        execute format('alter table %I enable row level security', t);
        execute format('alter table %I force row level security', t);
        execute format('create policy tenant on %I using (org_id = app_org_id()) with check (org_id = app_org_id())', t);
    end loop;
end
$$;

-- The job worker works across workspaces: it marks its transactions with app.worker = 'on'.
alter table jobs enable row level security;
alter table jobs force row level security;
create policy tenant on jobs
    using (org_id = app_org_id() or current_setting('app.worker', true) = 'on')
    with check (org_id = app_org_id() or current_setting('app.worker', true) = 'on');

grant select, insert, update, delete on
    organizations, memberships, pipelines, pipeline_stages, contacts, deals, activities, invites, jobs
    to clearview_app;
grant select, insert on audit_log to clearview_app;
grant select on users to clearview_app;

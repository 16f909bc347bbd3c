-- Boards hear of deal changes from the server once the change has committed (D-019), not from a trigger inside the
-- deal's transaction: a transaction that has sent NOTIFY holds PostgreSQL's one notification lock for the database from
-- just before its commit until the commit has reached the disk, so every deal-writing commit of every workspace took
-- its turn behind the others.
drop trigger deals_notify on deals;
drop function deals_notify();

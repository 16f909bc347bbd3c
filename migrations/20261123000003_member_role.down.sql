drop function app_member_role(uuid, uuid);

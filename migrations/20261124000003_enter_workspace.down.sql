drop function app_enter(uuid, uuid, text);

drop function app_assert_member(uuid, uuid, text);

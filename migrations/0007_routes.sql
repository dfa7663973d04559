-- 0007: the site and Raisin route in C, each page and action its own SQL
-- function (sql/site/, sql/raisin/), with the signature (me jsonb, args
-- jsonb); the dispatchers go, and so do the functions whose signature
-- changed (sql/ creates the new ones after this migration).

DROP FUNCTION IF EXISTS site_request(text, text, jsonb);
DROP FUNCTION IF EXISTS raisin_request(text, text, jsonb);

DROP FUNCTION IF EXISTS site_home();
DROP FUNCTION IF EXISTS site_games(jsonb);
DROP FUNCTION IF EXISTS site_game(text);
DROP FUNCTION IF EXISTS site_user(text, jsonb);
DROP FUNCTION IF EXISTS site_characters(jsonb, text);
DROP FUNCTION IF EXISTS site_chat_index();
DROP FUNCTION IF EXISTS site_channel(text, jsonb);
DROP FUNCTION IF EXISTS site_settings(jsonb);
DROP FUNCTION IF EXISTS site_new_session(bigint, jsonb, text);

DROP FUNCTION IF EXISTS raisin_fail(integer, text, text);
DROP FUNCTION IF EXISTS raisin_too_long(jsonb, text, integer);
DROP FUNCTION IF EXISTS raisin_index();
DROP FUNCTION IF EXISTS raisin_channel(jsonb);
DROP FUNCTION IF EXISTS raisin_mutes_page();
DROP FUNCTION IF EXISTS raisin_users(jsonb);
DROP FUNCTION IF EXISTS raisin_user(text, jsonb);
DROP FUNCTION IF EXISTS raisin_audit_page(jsonb);
DROP FUNCTION IF EXISTS raisin_hide(jsonb, jsonb, text, boolean);
DROP FUNCTION IF EXISTS raisin_mute(jsonb, jsonb, text);
DROP FUNCTION IF EXISTS raisin_lift(jsonb, jsonb, text);
DROP FUNCTION IF EXISTS raisin_account(jsonb, jsonb, text, text);
DROP FUNCTION IF EXISTS raisin_remove_character(jsonb, jsonb, text);

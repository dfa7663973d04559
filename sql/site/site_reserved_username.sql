-- Whether a new username would pass for the site, its staff or one of its
-- paths: refused at sign-up, whatever its case.  The one list of them
-- (add to it here); and the site's own name on the network (site_name,
-- grapevine_hub_name: its system player is system@<name>).  Accounts
-- that already have such a name keep it.
CREATE OR REPLACE FUNCTION site_reserved_username(name text, site_name text)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT lower(name) = lower(site_name)
        OR lower(name) = ANY (ARRAY[
               -- who runs the site, and speaks for it
               'admin', 'admins', 'administrator', 'administrators',
               'moderator', 'moderators', 'mod', 'mods', 'root', 'system',
               'sysop', 'staff', 'support', 'help', 'helpdesk', 'security',
               'official', 'owner', 'operator', 'team', 'grapevine',
               'gossip', 'raisin', 'backbone', 'webmaster', 'postmaster',
               'hostmaster', 'abuse', 'noreply', 'no-reply', 'nobody',
               'anonymous', 'null', 'undefined', 'everyone', 'all',
               -- the site's paths (src/site/ngx_grapevine_site_pages.c,
               -- Raisin's, the API's) and their usual kin
               'api', 'static', 'status', 'games', 'game', 'users', 'user',
               'chat', 'channels', 'register', 'sign-in', 'sign-out',
               'sign-up', 'signin', 'signout', 'signup', 'login', 'logout',
               'log-in', 'log-out', 'manage', 'settings', 'characters',
               'account', 'accounts', 'profile', 'new', 'online'])
$$;

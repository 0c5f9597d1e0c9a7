DROP TABLE login_throttle;
DROP TABLE refresh_tokens;
DROP TABLE accounts;
DROP TABLE organizations;
DROP TABLE regions;

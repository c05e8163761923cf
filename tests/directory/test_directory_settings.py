"""The directory settings come from a file, so they are untrusted: each is checked, and only the machine file may set
them (a user's file pointing sign-in at a server of its own would be a way in). No slapd needed here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from console.domain.directory import account_refusal, role_for_groups
from console.domain.users import Role
from console.errors import UserError
from console.services.directory_auth import config_from_settings
from console.settings import Settings, load_settings_explained

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.mark.parametrize(("key", "value", "words"), [
    ("ldap_urls", "ldaps://dc1.example.gov", "must be a list of URLs"),
    ("ldap_urls", ["http://dc1.example.gov"], "is not a directory server URL"),
    ("ldap_urls", ["ldaps://admin:pw@dc1.example.gov"], "is not a directory server URL"),
    ("ldap_urls", ["ldaps://dc1.example.gov/dc=x??sub"], "is not a directory server URL"),
    ("ldap_urls", ["ldaps://dc1.example.gov:99999"], "port must be between"),
    ("ldap_urls", [f"ldaps://dc{i}.example.gov" for i in range(9)], "at most 8 servers"),
    ("ldap_user_filter", "uid={user}", "one LDAP filter in parentheses"),
    ("ldap_user_filter", "(uid=admin)", "one LDAP filter in parentheses"),
    ("ldap_user_filter", "(uid={user})(uid=*", "one LDAP filter in parentheses"),
    ("ldap_user_dn_template", "uid={user},ou={user}", "must hold {user} once"),
    ("ldap_user_dn_template", "uid={0},ou=people", "must hold {user} once"),
    ("ldap_user_dn_template", "uid={user},ou=people,{other}", "a { other than {user}"),
    ("ldap_group_roles", {"cn=x,dc=gov": "sheriff"}, "unknown role 'sheriff'"),
    ("ldap_group_roles", {"not a dn": "admin"}, "is not a DN"),
    ("ldap_group_roles", ["cn=x"], "must be a table"),
    ("ldap_bind_password_env", "RTIC PASSWORD", "is not an environment variable name"),
    ("ldap_group_base", "ou=groups,\x00dc=gov", "control characters"),
    ("auth", "kerberos", "must be one of local, ldap"),
    ("ldap_timeout_s", 0.0, "must be at least 0.5"),
])
def test_a_bad_directory_setting_is_refused_with_a_sentence(key, value, words):
    with pytest.raises(UserError, match=re.escape(words)):
        Settings({key: value})


def test_a_users_file_cannot_set_or_change_directory_sign_in(tmp_path):
    machine, user = tmp_path / "machine.toml", tmp_path / "user.toml"
    machine.write_text('auth = "ldap"\nldap_urls = ["ldaps://dc1.example.gov"]\n')
    user.write_text('auth = "local"\nldap_urls = ["ldaps://evil.example.com"]\n'
                    'ldap_group_roles = {"cn=me,dc=evil" = "admin"}\n')
    loaded = load_settings_explained(machine, user)
    assert loaded.settings.auth == "ldap" and loaded.settings.ldap_urls == ("ldaps://dc1.example.gov",)
    assert loaded.settings.ldap_group_roles == {}
    assert set(loaded.refused) == {"auth", "ldap_urls", "ldap_group_roles"}
    assert "set only in the machine settings file" in loaded.refused["ldap_urls"]


def test_the_readme_active_directory_example_is_a_valid_machine_file(tmp_path, monkeypatch):
    text = README.read_text()
    block = text[text.index("**Signing in with the agency's directory"):]
    toml = block[block.index("```toml") + 7:block.index("```", block.index("```toml") + 7)]
    machine = tmp_path / "machine.toml"
    machine.write_text(toml)
    settings = load_settings_explained(machine, tmp_path / "none.toml").settings
    assert settings.auth == "ldap" and len(settings.ldap_urls) == 2
    assert settings.ldap_group_roles["cn=rtic dispatchers,ou=groups,dc=pd,dc=example,dc=gov"] == "dispatcher"
    monkeypatch.setenv("RTIC_LDAP_BIND_PASSWORD", "pw-Secret-123")
    with pytest.raises(UserError, match="ldap_ca_file '/etc/ssl/certs/pd-example-root-ca.pem' is not a file"):
        config_from_settings(settings)  # a half-configured workstation does not start
    ca = tmp_path / "ca.pem"
    ca.write_text("-")
    config = config_from_settings(settings.replaced(ldap_ca_file=str(ca)))
    assert [u.text for u in config.urls] == ["ldaps://dc1.pd.example.gov:636", "ldaps://dc2.pd.example.gov:636"]
    assert config.bind_password == "pw-Secret-123" and "pw-Secret" not in repr(config)  # never shown
    monkeypatch.delenv("RTIC_LDAP_BIND_PASSWORD")
    with pytest.raises(UserError, match="service account's password is not"):
        config_from_settings(settings.replaced(ldap_ca_file=str(ca)))


def test_groups_give_one_role_or_a_refusal():
    table = {"cn=a,dc=gov": Role.DISPATCHER, "cn=b,dc=gov": Role.ADMIN, "cn=c,dc=gov": Role.DISPATCHER}
    assert role_for_groups(["CN=A, DC=gov", "cn=z,dc=gov"], table).role is Role.DISPATCHER
    assert role_for_groups(["cn=a,dc=gov", "cn=c,dc=gov"], table).role is Role.DISPATCHER
    assert "several console roles (admin, dispatcher)" in role_for_groups(["cn=a,dc=gov", "cn=b,dc=gov"],
                                                                            table).refusal
    assert "none of the groups" in role_for_groups([], table).refusal


def test_active_directory_account_marks():
    from datetime import datetime, timezone

    now = datetime(2026, 12, 2, tzinfo=timezone.utc)
    assert account_refusal(512, 0, now) is None and account_refusal(512, 0x7FFFFFFFFFFFFFFF, now) is None
    assert "disabled" in account_refusal(514, None, now)
    assert "expired on 2000-01-01" in account_refusal(512, 116444736000000000 + 10_000_000 * 946684800, now)
    assert account_refusal(None, None, now) is None  # OpenLDAP without these attributes: the bind decides

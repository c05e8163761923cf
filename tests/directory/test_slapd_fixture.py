"""The test directory itself: it answers over LDAPS and StartTLS with the test CA, and holds the nested groups."""

from __future__ import annotations

import ldap3

from console.services.directory_auth import _VerifiedTls
from tests.directory.slapd import PASSWORD, group_dn, person_dn


def test_the_directory_answers_over_ldaps_and_starttls_with_its_ca(slapd):
    tls = _VerifiedTls(str(slapd.ca_file))
    plain = ldap3.Server("127.0.0.1", port=slapd.ldap_port, tls=tls, connect_timeout=5)
    conn = ldap3.Connection(plain, person_dn("alice"), PASSWORD, receive_timeout=5)
    conn.open()
    assert conn.start_tls()
    assert conn.bind()
    assert conn.search(group_dn("patrol"), "(objectClass=groupOfNames)", attributes=["member"])
    assert person_dn("alice") in conn.entries[0].member.values
    conn.unbind()
    with slapd.admin() as admin:
        assert admin.search(person_dn("carol"), "(objectClass=*)", attributes=["userAccountControl"])
        assert admin.entries[0].userAccountControl.value == 514

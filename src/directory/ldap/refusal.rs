//! What an LDAP server's refusal means, said once and so that a person can act on it:
//! the result code with its RFC 4511 name, the server's own text, what Active
//! Directory's extended error code in that text means where it is a known one, and
//! whether the refusal says that a value the server keeps unique is taken.
//!
//! Nothing here talks to a server; the texts are Samba's and Windows Server's as they
//! answer binds and writes (`0000052D: Constraint violation - check_password_restrictions …`,
//! `…AcceptSecurityContext error, data 52e, v4563`).

/// The name RFC 4511 (§4.1.9, Appendix A) gives an LDAP result code.
pub(super) fn code_name(rc: u32) -> Option<&'static str> {
    Some(match rc {
        1 => "operationsError",
        2 => "protocolError",
        3 => "timeLimitExceeded",
        4 => "sizeLimitExceeded",
        7 => "authMethodNotSupported",
        8 => "strongerAuthRequired",
        11 => "adminLimitExceeded",
        12 => "unavailableCriticalExtension",
        13 => "confidentialityRequired",
        16 => "noSuchAttribute",
        17 => "undefinedAttributeType",
        18 => "inappropriateMatching",
        19 => "constraintViolation",
        20 => "attributeOrValueExists",
        21 => "invalidAttributeSyntax",
        32 => "noSuchObject",
        34 => "invalidDNSyntax",
        48 => "inappropriateAuthentication",
        49 => "invalidCredentials",
        50 => "insufficientAccessRights",
        51 => "busy",
        52 => "unavailable",
        53 => "unwillingToPerform",
        54 => "loopDetect",
        64 => "namingViolation",
        65 => "objectClassViolation",
        66 => "notAllowedOnNonLeaf",
        67 => "notAllowedOnRDN",
        68 => "entryAlreadyExists",
        69 => "objectClassModsProhibited",
        71 => "affectsMultipleDSAs",
        80 => "other",
        _ => return None,
    })
}

/// The server's text and the result code, once, with what the refusal means and what
/// to do when that is known.
pub(super) fn describe(rc: u32, text: &str) -> String {
    let code = match code_name(rc) {
        Some(name) => format!("LDAP result {rc}, {name}"),
        None => format!("LDAP result {rc}"),
    };
    let said = match text.trim() {
        "" => code,
        text => format!("{text} ({code})"),
    };
    match meaning(rc, text) {
        Some(meaning) => format!("{said}: {meaning}"),
        None => said,
    }
}

/// What a refusal means: Active Directory's bind sub-code or extended error when the
/// text has a known one, else what the result code asks of the operator.
fn meaning(rc: u32, text: &str) -> Option<&'static str> {
    if let Some(m) = ad_bind_meaning(text) {
        return Some(m);
    }
    if let Some(m) = ad_error(text).and_then(ad_error_meaning) {
        return Some(m);
    }
    Some(match rc {
        8 | 13 => {
            "the server takes this only over an encrypted connection: use `ldaps://` or `starttls: true`"
        }
        17 => "an attribute is not in the server's schema: `hrsync validate --online` names it",
        21 => {
            "a value does not have the attribute's syntax (a DN for `manager`, a number for `accountExpires`): check the field's template"
        }
        34 => "a DN is not well formed: check `scope.base`, `entry.parent` and the DNs in the config",
        50 => {
            "the bind account may not do this here: delegate the right on the container (create and delete user objects, reset password, write the mapped attributes)"
        }
        64 => {
            "the entry's naming attribute is not allowed in this container: check `entry.rdn` and `entry.parent`"
        }
        65 => {
            "an attribute is not allowed by the entry's object classes, or one they require is missing: `hrsync validate --online` checks both"
        }
        67 => {
            "the naming attribute cannot be changed in place: hrsync renames entries instead, so check `entry.rdn`"
        }
        _ => return None,
    })
}

/// The extended error code Active Directory puts first in its texts
/// (`0000052D: Constraint violation …`), lowercase.
fn ad_error(text: &str) -> Option<String> {
    let (code, _) = text.trim_start().split_once(':')?;
    (code.len() == 8 && code.bytes().all(|b| b.is_ascii_hexdigit())).then(|| code.to_ascii_lowercase())
}

/// What a Windows error code that Active Directory answers writes with means.
fn ad_error_meaning(code: String) -> Option<&'static str> {
    Some(match code.as_str() {
        "00000005" => {
            "access denied: delegate the right on the container to the bind account (create and delete user objects, reset password, write the mapped attributes)"
        }
        "0000052d" => {
            "the initial password does not meet the domain's password policy: raise `passwords.length`, or check the policy's length and complexity rules"
        }
        "0000001f" => {
            "Active Directory would not do this (it answers so to a password set over an unencrypted connection: use `ldaps://` or `starttls: true`)"
        }
        "00000057" => {
            "a value is not one this attribute takes (a `userAccountControl` or `accountExpires` out of range?)"
        }
        "00002014" => {
            "an attribute is not allowed by the entry's object classes: `hrsync validate --online` names it"
        }
        _ => return None,
    })
}

/// What the sub-code of an Active Directory bind refusal ("…AcceptSecurityContext
/// error, data 52e, v4563") means, and what to do.
pub(super) fn ad_bind_meaning(text: &str) -> Option<&'static str> {
    let code = text.split("data ").nth(1)?.split(|c: char| !c.is_ascii_hexdigit()).next()?;
    Some(match code.to_ascii_lowercase().as_str() {
        "525" => "no such user: check `bind_dn`",
        "52e" => "wrong password for the bind DN: check the password secret",
        "530" => "the account may not sign in at this time of day",
        "531" => "the account may not sign in from this computer",
        "532" => "the account's password has expired: set a new one",
        "533" => "the account is disabled: enable it",
        "701" => "the account has expired: extend `accountExpires`",
        "773" => "the account must reset its password before it can sign in",
        "775" => "the account is locked out: unlock it, or wait for the lockout to end",
        _ => return None,
    })
}

/// Which of `unique` (attribute names as the config spells them) a refusal says is
/// taken: result 68 (entryAlreadyExists) or 19 (constraintViolation) with a text that
/// speaks of a value in use, naming the attribute (the first one the text names), or
/// Windows' own codes for a taken account name (`00000524`) and user principal name
/// (`000021C8`). `None` also for a 68 that names no attribute: a DN that exists.
pub(super) fn taken_attribute<'a>(rc: u32, text: &str, unique: &'a [String]) -> Option<&'a str> {
    if !matches!(rc, 19 | 68) {
        return None;
    }
    let lower = text.to_ascii_lowercase();
    let by_code = |name: &str| unique.iter().find(|u| u.eq_ignore_ascii_case(name)).map(String::as_str);
    match ad_error(text).as_deref() {
        Some("00000524") => return by_code("sAMAccountName"),
        Some("000021c8") => return by_code("userPrincipalName"),
        _ => {}
    }
    let says_taken = ["already in use", "already exists", "not unique", "must be unique", "uniqueness"]
        .iter()
        .any(|phrase| lower.contains(phrase));
    if !says_taken {
        return None;
    }
    unique
        .iter()
        .filter_map(|u| word_at(&lower, &u.to_ascii_lowercase()).map(|at| (at, u.as_str())))
        .min_by_key(|(at, _)| *at)
        .map(|(_, u)| u)
}

/// Where `word` first stands in `text` as a word of its own (not inside a longer
/// attribute name: `cn` is not in `samaccountname`).
fn word_at(text: &str, word: &str) -> Option<usize> {
    let part = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    text.match_indices(word).map(|(at, _)| at).find(|&at| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(part) && !after.is_some_and(part)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unique() -> Vec<String> {
        ["cn", "sAMAccountName", "userPrincipalName"].map(String::from).to_vec()
    }

    #[test]
    fn refusals_name_the_attribute_whose_value_is_taken() {
        let u = unique();
        // Samba, as the DC answered.
        let sam = "00002071: samldb: samAccountName 'jdoe' already in use!";
        assert_eq!(taken_attribute(68, sam, &u), Some("sAMAccountName"));
        let upn = "0000202F: samldb: userPrincipalName 'jane@acme.example' is already in use ";
        assert_eq!(taken_attribute(19, upn, &u), Some("userPrincipalName"));
        let dn = "Entry CN=Taken,CN=Users,DC=acme,DC=example already exists";
        assert_eq!(taken_attribute(68, dn, &u), Some("cn"));
        // Windows Server: the codes, not the names.
        let windows = "00000524: UpdErr: DSID-031A11E0, problem 6005 (ENTRY_EXISTS), data 0";
        assert_eq!(taken_attribute(68, windows, &u), Some("sAMAccountName"));
        let forest = "000021C8: AtrErr: DSID-03200BBA, #1: 0: 000021C8: DSID-03200BBA, problem 1005 (CONSTRAINT_ATT_TYPE), data 0, Att 90290 (userPrincipalName)";
        assert_eq!(taken_attribute(19, forest, &u), Some("userPrincipalName"));
        // Not about a value in use, or not an attribute hrsync keeps unique.
        assert_eq!(taken_attribute(19, "00002082: value too long for sAMAccountName", &u), None);
        assert_eq!(taken_attribute(68, "", &u), None, "OpenLDAP's DN that exists says nothing");
        assert_eq!(taken_attribute(53, sam, &u), None);
        assert_eq!(taken_attribute(68, "mail 'x' already in use", &u), None);
        // A value that looks like an attribute name comes after the attribute's own.
        let tricky = "samldb: samAccountName 'cn' already in use!";
        assert_eq!(taken_attribute(68, tricky, &u), Some("sAMAccountName"));
    }

    #[test]
    fn a_refusal_says_its_code_by_name_and_what_to_do() {
        assert_eq!(
            describe(80, "index generation failed"),
            "index generation failed (LDAP result 80, other)"
        );
        assert_eq!(describe(19, ""), "LDAP result 19, constraintViolation");
        assert_eq!(describe(99, ""), "LDAP result 99");
        let policy = "0000052D: Constraint violation - check_password_restrictions: the password is too short. It should be equal or longer than 30 characters!";
        let said = describe(19, policy);
        assert!(said.starts_with(policy), "{said}");
        assert!(
            said.ends_with("raise `passwords.length`, or check the policy's length and complexity rules"),
            "{said}"
        );
        let class = "00002014: objectclass_attrs: attribute 'dNSHostName' on entry 'CN=D,OU=Staff,DC=acme,DC=example' does not exist in the specified objectclasses!";
        assert!(
            describe(65, class)
                .contains("(LDAP result 65, objectClassViolation): an attribute is not allowed")
        );
        assert!(describe(50, "").contains("delegate the right"));
    }

    #[test]
    fn active_directory_bind_sub_codes_are_translated() {
        let text = "80090308: LdapErr: DSID-0C09041C, comment: AcceptSecurityContext error, data 52e, v4563";
        assert_eq!(ad_bind_meaning(text), Some("wrong password for the bind DN: check the password secret"));
        assert!(describe(49, text).ends_with(
            "(LDAP result 49, invalidCredentials): wrong password for the bind DN: check the password secret"
        ));
        assert_eq!(
            ad_bind_meaning("data 775, v2580"),
            Some("the account is locked out: unlock it, or wait for the lockout to end")
        );
        assert_eq!(ad_bind_meaning("data 999"), None);
        assert_eq!(ad_bind_meaning("invalid credentials"), None);
    }
}

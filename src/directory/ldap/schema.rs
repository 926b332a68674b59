//! What an LDAP server's schema allows on the entries hrsync creates: the attribute
//! types it knows (with their other names), and the attributes the entries' object
//! classes require and allow, superior classes and Active Directory's auxiliary
//! classes included, from the subschema's definitions (RFC 4512 §4.1).
//!
//! Active Directory links auxiliary classes to a class in the schema itself
//! (`user` gets `securityPrincipal`, whose `sAMAccountName` it then allows, and
//! `mailRecipient`); the subschema's definitions do not show that, so the links are read
//! from the `classSchema` objects (`auxiliaryClass`, `systemAuxiliaryClass`) and given
//! here as `auxiliaries`. Nothing here talks to a server.

use std::collections::{BTreeSet, HashMap, HashSet};

/// The names (lowercase) of a schema definition such as
/// `( 2.5.4.3 NAME ( 'cn' 'commonName' ) SUP name )` (RFC 4512 §4.1).
pub(crate) fn schema_names(definition: &str) -> Vec<String> {
    let Some((_, rest)) = definition.split_once(" NAME ") else {
        return Vec::new();
    };
    let rest = rest.trim_start();
    let names = match rest.strip_prefix('(') {
        Some(list) => list.split(')').next().unwrap_or_default(),
        None => rest.split_whitespace().next().unwrap_or_default(),
    };
    names
        .split_whitespace()
        .map(|n| n.trim_matches('\'').to_ascii_lowercase())
        .filter(|n| !n.is_empty())
        .collect()
}

/// An object class's definition: its superior classes and the attributes it requires
/// and allows, all lowercase.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct ObjectClass {
    /// Its object identifier.
    pub oid: String,
    /// Its names, the first as the schema spells it.
    pub names: Vec<String>,
    /// `SUP`.
    pub sup: Vec<String>,
    /// `MUST`.
    pub must: Vec<String>,
    /// `MAY`.
    pub may: Vec<String>,
}

/// The words of a definition: `(`, `)` and `$` on their own, a quoted string (a name,
/// a description of several words) as one word without its quotes.
fn tokens(definition: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = definition.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '(' | ')' | '$' => out.push(c.to_string()),
            '\'' => out.push(chars.by_ref().take_while(|c| *c != '\'').collect()),
            c if c.is_whitespace() => {}
            c => {
                let mut word = c.to_string();
                while let Some(&next) = chars.peek() {
                    if next.is_whitespace() || matches!(next, '(' | ')' | '$' | '\'') {
                        break;
                    }
                    word.push(next);
                    chars.next();
                }
                out.push(word);
            }
        }
    }
    out
}

/// Parses an `objectClasses` value. `None` when it names no class.
pub(super) fn object_class(definition: &str) -> Option<ObjectClass> {
    let tokens = tokens(definition);
    let mut class = ObjectClass::default();
    let mut i = 0;
    if tokens.first().map(String::as_str) == Some("(") && tokens.len() > 1 {
        class.oid = tokens[1].clone();
        i = 2;
    }
    // A keyword's value: one word, or a parenthesised list separated by `$` (names) or
    // spaces (NAME's quoted list).
    let list = |i: &mut usize| -> Vec<String> {
        let mut out = Vec::new();
        match tokens.get(*i).map(String::as_str) {
            Some("(") => {
                *i += 1;
                while let Some(t) = tokens.get(*i) {
                    *i += 1;
                    match t.as_str() {
                        ")" => break,
                        "$" => {}
                        word => out.push(word.to_owned()),
                    }
                }
            }
            Some(word) => {
                out.push(word.to_owned());
                *i += 1;
            }
            None => {}
        }
        out
    };
    while i < tokens.len() {
        let keyword = tokens[i].as_str();
        i += 1;
        match keyword {
            "NAME" => class.names = list(&mut i),
            "SUP" => class.sup = list(&mut i).iter().map(|s| s.to_ascii_lowercase()).collect(),
            "MUST" => class.must = list(&mut i).iter().map(|s| s.to_ascii_lowercase()).collect(),
            "MAY" => class.may = list(&mut i).iter().map(|s| s.to_ascii_lowercase()).collect(),
            // DESC, EQUALITY …: their value is one word, passed over as the next keyword.
            _ => {}
        }
    }
    (!class.names.is_empty()).then_some(class)
}

/// What the schema says about entries of some object classes.
#[derive(Debug, Default)]
pub(super) struct Schema {
    /// Attribute type names (lowercase) → the type's first name (lowercase).
    pub types: HashMap<String, String>,
    /// Object classes by each of their names (lowercase).
    pub classes: HashMap<String, std::sync::Arc<ObjectClass>>,
    /// Active Directory: the auxiliary classes the schema links to a class (lowercase).
    pub auxiliaries: HashMap<String, Vec<String>>,
}

/// The attributes entries of some object classes require and allow.
#[derive(Debug)]
pub(super) struct Allowed {
    /// The classes, with their superior and auxiliary classes (as the schema spells
    /// them, in the order found).
    pub classes: Vec<String>,
    /// Attributes allowed (MUST or MAY), by type (the type's first name, lowercase).
    pub may: HashSet<String>,
    /// Attributes required, by type, with the first class that requires each.
    pub must: Vec<(String, String)>,
}

impl Schema {
    /// Reads `attributeTypes` and `objectClasses` values.
    pub fn new<'a>(
        attribute_types: impl IntoIterator<Item = &'a String>,
        object_classes: impl IntoIterator<Item = &'a String>,
    ) -> Schema {
        let mut schema = Schema::default();
        for definition in attribute_types {
            let names = schema_names(definition);
            if let Some(first) = names.first().cloned() {
                for n in names {
                    schema.types.entry(n).or_insert_with(|| first.clone());
                }
            }
        }
        for definition in object_classes {
            if let Some(class) = object_class(definition) {
                let class = std::sync::Arc::new(class);
                // Active Directory may name auxiliary classes by object identifier.
                for n in class.names.iter().chain(std::iter::once(&class.oid)) {
                    schema.classes.entry(n.to_ascii_lowercase()).or_insert_with(|| class.clone());
                }
            }
        }
        schema
    }

    /// The type an attribute name is a name of (lowercase), when the schema has it.
    pub fn attribute_type(&self, name: &str) -> Option<&str> {
        let bare = name.split(';').next().unwrap_or(name).to_ascii_lowercase();
        self.types.get(&bare).map(String::as_str)
    }

    /// What entries of `classes` may hold: their own, their superiors' and their
    /// auxiliary classes' attributes. Classes the schema lacks add nothing.
    pub fn allowed(&self, classes: &[String]) -> Allowed {
        let mut seen: BTreeSet<String> = BTreeSet::new();
        let mut out = Allowed { classes: Vec::new(), may: HashSet::new(), must: Vec::new() };
        let mut todo: Vec<String> = classes.iter().rev().map(|c| c.to_ascii_lowercase()).collect();
        while let Some(name) = todo.pop() {
            if !seen.insert(name.clone()) {
                continue;
            }
            if let Some(aux) = self.auxiliaries.get(&name) {
                todo.extend(aux.iter().rev().cloned());
            }
            let Some(class) = self.classes.get(&name) else { continue };
            out.classes.push(class.names[0].clone());
            todo.extend(class.sup.iter().rev().cloned());
            let canonical = |a: &String| self.types.get(a).cloned().unwrap_or_else(|| a.clone());
            for a in &class.must {
                let a = canonical(a);
                if !out.must.iter().any(|(m, _)| *m == a) {
                    out.must.push((a.clone(), class.names[0].clone()));
                }
                out.may.insert(a);
            }
            out.may.extend(class.may.iter().map(canonical));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_names_from_schema_definitions() {
        let cn = "( 2.5.4.3 NAME ( 'cn' 'commonName' ) DESC 'RFC4519: common name(s)' SUP name )";
        assert_eq!(schema_names(cn), ["cn", "commonname"]);
        assert_eq!(
            schema_names("( 0.9.2342.19200300.100.1.1 NAME 'uid' EQUALITY caseIgnoreMatch )"),
            ["uid"]
        );
        assert!(schema_names("( 1.2.3 DESC 'no name' )").is_empty());
    }

    /// Definitions as Samba's subschema and OpenLDAP's core schema spell them.
    fn schema() -> Schema {
        let types: Vec<String> = [
            "( 2.5.4.3 NAME ( 'cn' 'commonName' ) SUP name )",
            "( 2.5.4.4 NAME ( 'sn' 'surname' ) SUP name )",
            "( 1.2.840.113556.1.4.221 NAME 'sAMAccountName' SYNTAX '1.3.6.1.4.1.1466.115.121.1.15' SINGLE-VALUE )",
            "( 1.2.840.113556.1.2.610 NAME 'employeeID' )",
            "( 2.5.4.0 NAME 'objectClass' )",
            "( 1.2.840.113556.1.4.619 NAME 'dNSHostName' )",
        ]
        .map(String::from)
        .to_vec();
        let classes: Vec<String> = [
            "( 2.5.6.0 NAME 'top' ABSTRACT MUST (objectClass $ objectCategory $ nTSecurityDescriptor $ instanceType ) )",
            "( 2.5.6.6 NAME 'person' SUP top STRUCTURAL MUST (cn ) MAY (userPassword $ telephoneNumber $ surname ) )",
            "( 2.5.6.7 NAME 'organizationalPerson' SUP person STRUCTURAL MAY (title $ employeeID $ mail ) )",
            "( 1.2.840.113556.1.5.9 NAME 'user' SUP organizationalPerson STRUCTURAL MAY (displayName $ givenName ) )",
            "( 1.2.840.113556.1.5.6 NAME 'securityPrincipal' SUP top AUXILIARY MUST (sAMAccountName $ objectSid ) MAY (sIDHistory ) )",
            "( 1.2.840.113556.1.3.30 NAME 'computer' SUP user STRUCTURAL MAY (dNSHostName ) )",
            "( 2.16.840.1.113730.3.2.2 NAME 'inetOrgPerson' DESC 'RFC2798: Internet Organizational Person' SUP organizationalPerson STRUCTURAL MAY ( uid $ mail ) )",
        ]
        .map(String::from)
        .to_vec();
        Schema::new(&types, &classes)
    }

    #[test]
    fn a_class_allows_its_own_its_superiors_and_its_auxiliaries_attributes() {
        let mut schema = schema();
        let classes = ["top", "person", "organizationalPerson", "user"].map(String::from);
        let without = schema.allowed(&classes);
        assert!(without.may.contains("employeeid") && without.may.contains("sn"), "{without:?}");
        assert!(!without.may.contains("samaccountname"), "only through its auxiliary class");
        assert!(!without.may.contains("dnshostname"), "a subclass's attribute is not a user's");
        // Linked by object identifier, as Active Directory may give it.
        schema.auxiliaries.insert("user".into(), vec!["1.2.840.113556.1.5.6".into()]);
        let with = schema.allowed(&classes[3..]);
        assert!(with.may.contains("samaccountname") && with.may.contains("cn"), "{with:?}");
        assert_eq!(with.classes, ["user", "organizationalPerson", "person", "top", "securityPrincipal"]);
        let must: Vec<&str> = with.must.iter().map(|(a, _)| a.as_str()).collect();
        assert_eq!(
            must,
            [
                "cn",
                "objectclass",
                "objectcategory",
                "ntsecuritydescriptor",
                "instancetype",
                "samaccountname",
                "objectsid"
            ]
        );
        assert_eq!(schema.attribute_type("surname"), Some("sn"));
        assert_eq!(schema.attribute_type("cn;lang-de"), Some("cn"));
        assert_eq!(schema.attribute_type("nope"), None);
    }

    #[test]
    fn definitions_parse_as_both_servers_spell_them() {
        let c =
            object_class("( 2.5.6.6 NAME 'person' SUP top STRUCTURAL MUST (cn ) MAY (userPassword $ sn ) )")
                .unwrap();
        assert_eq!(
            (c.names.as_slice(), c.sup.as_slice()),
            (&["person".to_owned()][..], &["top".to_owned()][..])
        );
        assert_eq!(
            (c.must, c.may),
            (vec!["cn".to_owned()], vec!["userpassword".to_owned(), "sn".to_owned()])
        );
        let openldap = "( 2.5.6.6 NAME 'person' DESC 'RFC2256: a person' SUP top STRUCTURAL MUST ( sn $ cn ) MAY ( userPassword $ telephoneNumber $ seeAlso $ description ) )";
        let c = object_class(openldap).unwrap();
        assert_eq!(c.must, ["sn", "cn"]);
        assert_eq!(c.may.len(), 4);
        assert!(object_class("( 1.2.3 DESC 'no name' )").is_none());
        assert!(object_class("(((((").is_none());
        let tricky = "( 1.2.3 NAME 'room' DESC 'people who MAY book it' MUST cn )";
        assert_eq!(
            object_class(tricky).unwrap().may,
            Vec::<String>::new(),
            "a description's words are not keywords"
        );
    }
}

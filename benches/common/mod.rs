//! Synthetic HR data shared by the benchmarks: N people in a tree with a span of
//! control of seven, names with accents and collisions, org units, contractors, leavers
//! and joiners, all from a fixed seed so every run sees the same data; and the sync
//! repository the benchmarks plan them with.

#![allow(dead_code)]

use std::fmt::Write as _;

const FIRST: &[&str] = &[
    "Anna", "Jürgen", "Léa", "Mohammed", "Sofia", "Lukas", "Chloé", "Ömer", "Emma", "Noah", "Ayşe", "Björn",
    "Zoë", "Mateo", "Hana", "Liam", "Olga", "Pierre", "Ingrid", "Kofi", "Yuki", "Marta", "Søren", "Élodie",
    "Raj", "Fatima", "Tobias", "Clara", "Henrik", "Amélie", "Dmitri", "Lucía", "Kwame", "Aiko", "Giulia",
    "Mehmet", "Freya", "Tomás", "Nadia", "Oskar", "Priya", "Rafael", "Sakura", "Theo", "Ulrike", "Victor",
    "Wiebke", "Xavier", "Yasmin", "Zeynep",
];
const LAST: &[&str] = &[
    "Müller",
    "Schmidt",
    "Dubois",
    "García",
    "Rossi",
    "Nowak",
    "Yılmaz",
    "Jensen",
    "O'Brien",
    "van der Berg",
    "Kowalski",
    "Nakamura",
    "Okafor",
    "Silva",
    "Lefèvre",
    "Weiß",
    "Popescu",
    "Andersson",
    "Costa",
    "Fischer",
    "Moreau",
    "Novák",
    "Becker",
    "Bianchi",
    "Castro",
    "Dimitrov",
    "Eriksen",
    "Ferreira",
    "Gómez",
    "Hoffmann",
    "Ivanova",
    "Janssen",
    "Kaya",
    "Lindqvist",
    "Martínez",
    "Nielsen",
    "Ortega",
    "Petersen",
    "Quinn",
    "Richter",
    "Sørensen",
    "Tanaka",
    "Uysal",
    "Vogel",
];
const LOCATIONS: &[&str] = &["Berlin", "Paris", "München", "Lyon", "Hamburg", "Remote"];
const TITLES: &[&str] =
    &["Engineer", "Senior Engineer", "Analyst", "Designer", "Account Executive", "Accountant", "Recruiter"];

/// The sync repository of the benchmarks: `hrsync.yaml`.
pub const WORKSPACE: &str =
    "version: 1\nworkspace: bench\ntimezone: Europe/Berlin\nsafety: { max_update_percent: 100 }\n";
/// `filters/staff.yaml`: contractors out.
pub const FILTER: &str = "version: 1\ninclude:\n  - { field: employment_status, in: [active, pending, leave] }\nexclude:\n  - { field: employment_type, in: [contractor] }\n";
/// `sources/hr.yaml`: `people.csv` and `units.csv`.
pub const SOURCE: &str = "version: 1\ntype: csv\npath: people.csv\nmatch_key: [employee_number, work_email]\nfilters: [staff]\norg_units: { path: units.csv }\n";
/// `directories/corp.yaml`: 12 mapped fields, a unique `uid`, a manager, a marker.
pub const DIRECTORY: &str = r#"version: 1
type: file
mode: apply
scope: { marker: { attribute: managedBy, value: hrsync } }
match:
  - { person: employee_number, attribute: employeeNumber }
  - { person: work_email, attribute: mail }
fields:
  uid:
    candidates: ["{{ first_name | ascii | alnum | lower }}.{{ last_name | ascii | alnum | lower }}", "{{ first_name | ascii | alnum | lower }}.{{ last_name | ascii | alnum | lower }}{{ n }}"]
    unique: true
    mode: import_once
  cn: { value: "{{ preferred_name | default(first_name) }} {{ last_name }}" }
  givenName: { value: "{{ preferred_name | default(first_name) }}" }
  sn: { value: "{{ last_name }}" }
  mail: { value: "{{ work_email | lower }}" }
  employeeNumber: { value: "{{ employee_number }}" }
  title: { value: "{{ job_title }}", mode: import_once }
  departmentNumber: { value: "{{ org_unit }}" }
  ou: { value: "{{ org_unit_name }}" }
  telephoneNumber: { value: "{{ phone }}" }
  l: { value: "{{ work_location }}" }
  manager: { manager: true }
joiners: { pre_provision_days: 14 }
leavers: { action: disable, delete_after_days: 30 }
"#;

/// A tiny deterministic generator (xorshift), so every run plans the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
    fn chance(&mut self, per_mille: u64) -> bool {
        self.next() % 1000 < per_mille
    }
}

/// One generated person.
pub struct Person {
    pub number: String,
    pub first: &'static str,
    pub last: &'static str,
    pub preferred: &'static str,
    pub email: String,
    pub phone: String,
    pub title: &'static str,
    pub unit: String,
    pub location: &'static str,
    pub manager: String,
    pub contractor: bool,
    pub leaver: bool,
    pub joiner: bool,
    /// Whether the directory's copy was edited by hand since the last sync.
    pub drifted: bool,
}

/// The people, their CSV export (`employee_number,first_name,…`) and the org units CSV.
pub struct Hr {
    pub people: Vec<Person>,
    pub csv: String,
    pub units: String,
}

/// Generates `n` people.
pub fn generate(n: usize) -> Hr {
    let mut rng = Rng(0x5eed_2026_1122);
    let mut csv = String::from(
        "employee_number,first_name,last_name,preferred_name,work_email,phone,job_title,org_unit,work_location,manager,employment_status,employment_type,start_date,end_date\n",
    );
    let mut units = String::from("id,name,parent\n");
    let unit_count = (n / 40).max(1);
    for u in 0..unit_count {
        let parent = if u == 0 { String::new() } else { format!("U{}", (u - 1) / 8) };
        writeln!(units, "U{u},Unit {u},{parent}").unwrap();
    }
    let mut people = Vec::with_capacity(n);
    // A tree with a span of control of 7: person i reports to (i - 1) / 7.
    for i in 0..n {
        let number = format!("E{:07}", i + 1);
        let first = rng.pick(FIRST);
        let last = rng.pick(LAST);
        let preferred = if rng.chance(50) { "Sam" } else { "" };
        let email = format!("{}.{}.{}@acme.example", ascii(first), ascii(last), i + 1);
        let phone =
            if rng.chance(600) { format!("+49 30 {:07}", rng.next() % 10_000_000) } else { String::new() };
        let title = rng.pick(TITLES);
        let unit = format!("U{}", (i / 40).min(unit_count - 1));
        let location = rng.pick(LOCATIONS);
        let manager = if i == 0 { String::new() } else { format!("E{:07}", (i - 1) / 7 + 1) };
        let contractor = rng.chance(20);
        let kind = if contractor { "contractor" } else { "employee" };
        let leaver = rng.chance(3);
        let (status, end) = if leaver { ("terminated", "2026-10-31") } else { ("active", "") };
        let joiner = !leaver && rng.chance(5);
        writeln!(
            csv,
            "{number},{first},{last},{preferred},{email},{phone},{title},{unit},{location},{manager},{status},{kind},2020-01-01,{end}"
        )
        .unwrap();
        let drifted = !(contractor || joiner) && rng.chance(20);
        people.push(Person {
            number,
            first,
            last,
            preferred,
            email,
            phone,
            title,
            unit,
            location,
            manager,
            contractor,
            leaver,
            joiner,
            drifted,
        });
    }
    Hr { people, csv, units }
}

/// What `ascii | alnum | lower` makes of a name in the templates.
pub fn ascii(s: &str) -> String {
    deunicode::deunicode(s).chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_lowercase()
}

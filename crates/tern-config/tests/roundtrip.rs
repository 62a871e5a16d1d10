//! Every vendor reference configuration: parse → print → compare with the file → re-parse →
//! the same model. Files print back byte for byte unless listed in [`NORMALISED`] with the
//! normalisations (documented in docs/cli.md, "Printing") that make them equal; a listed file
//! must also still differ without them, so the table stays exact.

use std::path::PathBuf;

use tern_config::parse_file;

/// How a vendor file may differ from what VRP (and tern) prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Norm {
    /// `#` separator lines are not compared: the vendor's hand-edited files put some at
    /// column 0 inside `bgp` and leave one out between two `route-policy` nodes.
    Separators,
    /// Commands within a view are compared in sorted order: the file lists them in the order
    /// they were typed (peers not by address, `peer … as-number` before `import-route`),
    /// VRP prints them in its fixed order.
    Order,
    /// A literal edit of the vendor file, for lines VRP itself would print differently
    /// because of what they mean (see [`PATCHES`]).
    Patch,
}

const NORMALISED: &[(&str, &[Norm])] = &[
    ("ipv4-option-b-rr/CE1.cfg", &[Norm::Patch]),
    ("ipv4-option-b-rr/CE2.cfg", &[Norm::Patch]),
    ("ipv4-option-b-rr/CE3.cfg", &[Norm::Patch]),
    ("ipv4-option-b-rr/PE1.cfg", &[Norm::Separators]),
    ("ipv4-option-b-rr/PE2.cfg", &[Norm::Separators]),
    ("ipv4-option-b-rr/PE3.cfg", &[Norm::Separators]),
    ("ipv4-option-c-lu-s1/PE1.cfg", &[Norm::Order]),
    ("ipv4-option-c-lu-s1/PE2.cfg", &[Norm::Order, Norm::Patch]),
    (
        "ipv4-option-c-s1/ASBR1.cfg",
        &[Norm::Order, Norm::Separators],
    ),
    (
        "ipv4-option-c-s1/ASBR2.cfg",
        &[Norm::Order, Norm::Separators],
    ),
    ("ipv4-option-c-s1/PE1.cfg", &[Norm::Order]),
    ("ipv4-option-c-s1/PE2.cfg", &[Norm::Order]),
    ("ipv4-option-c-s2/PE2.cfg", &[Norm::Separators]),
    ("ipv6-option-c-s2/CE1.cfg", &[Norm::Order]),
];

const LOOPBACK: (&str, &str) = ("interface Loopback 1\n", "interface LoopBack1\n");

/// Literal edits: (file, [(vendor text, what VRP prints)]).
const PATCHES: &[(&str, &[(&str, &str)])] = &[
    // `interface Loopback 1` (type and number apart): VRP prints the interface's name.
    ("ipv4-option-b-rr/CE1.cfg", &[LOOPBACK]),
    ("ipv4-option-b-rr/CE2.cfg", &[LOOPBACK]),
    (
        "ipv4-option-b-rr/CE3.cfg",
        &[
            LOOPBACK,
            // `network` typed in the BGP view configures IPv4 unicast; VRP prints it there.
            (
                " network 33.33.33.33 255.255.255.255\n #\n ipv4-family unicast\n  undo synchronization\n",
                " #\n ipv4-family unicast\n  undo synchronization\n  network 33.33.33.33 255.255.255.255\n",
            ),
        ],
    ),
    // ` peer 3.3.3.9 enable` at one space under `ipv4-family labeled-unicast`: VRP reads a
    // file as typed commands, so the line stays in the labeled-unicast view it is a command
    // of (what the vendor meant), and is printed there with two spaces.
    (
        "ipv4-option-c-lu-s1/PE2.cfg",
        &[(
            "  network 4.4.4.9 255.255.255.255\n peer 3.3.3.9 enable\n",
            "  network 4.4.4.9 255.255.255.255\n  peer 3.3.3.9 enable\n",
        )],
    ),
];

fn reference_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/huawei")
}

fn reference_files() -> Vec<String> {
    let mut out = Vec::new();
    for d in std::fs::read_dir(reference_dir()).expect("shared/reference/huawei") {
        let d = d.unwrap().path();
        if !d.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&d).unwrap() {
            let f = f.unwrap().path();
            if f.extension().is_some_and(|x| x == "cfg") {
                let dir = d.file_name().unwrap().to_str().unwrap();
                out.push(format!(
                    "{dir}/{}",
                    f.file_name().unwrap().to_str().unwrap()
                ));
            }
        }
    }
    out.sort();
    out
}

/// A line tree by indentation.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone)]
struct Tree {
    line: String,
    children: Vec<Tree>,
}

fn tree(text: &str, separators: bool) -> Vec<Tree> {
    let mut root: Vec<Tree> = Vec::new();
    for l in text.lines() {
        let body = l.trim_start_matches(' ');
        if !separators && body.trim() == "#" {
            continue;
        }
        let depth = l.len() - body.len();
        let mut level = &mut root;
        for _ in 0..depth {
            if level.is_empty() {
                break;
            }
            level = &mut level.last_mut().unwrap().children;
        }
        level.push(Tree {
            line: body.to_owned(),
            children: Vec::new(),
        });
    }
    root
}

fn sort(t: &mut [Tree]) {
    for c in t.iter_mut() {
        sort(&mut c.children);
    }
    t.sort();
}

fn normalise(text: &str, norms: &[Norm]) -> Vec<Tree> {
    let mut t = tree(text, !norms.contains(&Norm::Separators));
    if norms.contains(&Norm::Order) {
        sort(&mut t);
    }
    t
}

#[test]
fn every_reference_file_round_trips() {
    let files = reference_files();
    assert_eq!(files.len(), 39);
    let mut exact = 0;
    for rel in &files {
        let original = std::fs::read_to_string(reference_dir().join(rel)).unwrap();
        let cfg = parse_file(&original).unwrap_or_else(|e| panic!("{rel}:\n{e}"));
        let printed = cfg.to_vrp();
        let again = parse_file(&printed).unwrap_or_else(|e| panic!("{rel} printed:\n{e}"));
        assert_eq!(
            again, cfg,
            "{rel}: the printed configuration re-parses differently"
        );
        assert_eq!(again.to_vrp(), printed, "{rel}: printing is not stable");

        let norms = NORMALISED
            .iter()
            .find(|(f, _)| f == rel)
            .map_or(&[][..], |(_, n)| *n);
        if norms.is_empty() {
            assert_eq!(printed, original, "{rel}: not printed back exactly");
            exact += 1;
            continue;
        }
        assert_ne!(
            printed, original,
            "{rel} is exact now: drop it from NORMALISED"
        );
        let mut expected = original.clone();
        if norms.contains(&Norm::Patch) {
            let patches = PATCHES.iter().find(|(f, _)| f == rel).expect("patches");
            for (from, to) in patch_list(patches.1) {
                assert!(
                    expected.contains(from),
                    "{rel}: patch text not found: {from:?}"
                );
                expected = expected.replacen(from, to, 1);
            }
        }
        if norms == [Norm::Patch] {
            assert_eq!(printed, expected, "{rel}: not printed back as patched");
            continue;
        }
        assert_eq!(
            normalise(&printed, norms),
            normalise(&expected, norms),
            "{rel}: differs after {norms:?}\n--- printed\n{printed}"
        );
        // Each normalisation is needed: without it, the texts differ.
        for n in norms.iter().filter(|n| **n != Norm::Patch) {
            let fewer: Vec<Norm> = norms.iter().copied().filter(|m| m != n).collect();
            assert_ne!(
                normalise(&printed, &fewer),
                normalise(&expected, &fewer),
                "{rel}: {n:?} is not needed"
            );
        }
    }
    assert_eq!(exact, 39 - NORMALISED.len());
}

fn patch_list<'a>(p: &'a [(&'a str, &'a str)]) -> impl Iterator<Item = (&'a str, &'a str)> {
    p.iter().copied()
}

/// The seed page's own router, printed exactly as the vendor prints it.
#[test]
fn golden_ipv6_option_c_s1_pe1() {
    let original =
        std::fs::read_to_string(reference_dir().join("ipv6-option-c-s1/PE1.cfg")).unwrap();
    let cfg = parse_file(&original).unwrap();
    let expected = "\
#
sysname PE1
#
ip vpn-instance vpn1
 ipv6-family
  route-distinguisher 100:1
  apply-label per-instance
  vpn-target 1:1 export-extcommunity
  vpn-target 1:1 import-extcommunity
#
mpls lsr-id 1.1.1.9
#
mpls
#
mpls ldp
#
interface GigabitEthernet0/1/0
 undo shutdown
 ip address 10.10.1.2 255.255.255.0
 mpls
 mpls ldp
#
interface GigabitEthernet0/2/0
 undo shutdown
 ip binding vpn-instance vpn1
 ipv6 enable
 ipv6 address 2001:db8:1::2/64
#
interface LoopBack1
 ip address 1.1.1.9 255.255.255.255
#
bgp 100
 peer 2.2.2.9 as-number 100
 peer 2.2.2.9 connect-interface LoopBack1
 peer 4.4.4.9 as-number 200
 peer 4.4.4.9 ebgp-max-hop 10
 peer 4.4.4.9 connect-interface LoopBack1
 #
 ipv4-family unicast
  undo synchronization
  peer 2.2.2.9 enable
  peer 2.2.2.9 label-route-capability
  peer 4.4.4.9 enable
 #
 ipv6-family vpnv6
  policy vpn-target
  peer 4.4.4.9 enable
 #
 ipv6-family vpn-instance vpn1
  import-route direct
  peer 2001:db8:1::1 as-number 65001
#
ospf 1
 area 0.0.0.0
  network 1.1.1.9 0.0.0.0
  network 10.10.1.0 0.0.0.255
#
return
";
    assert_eq!(cfg.to_vrp(), expected);
}

/// Commands the reference files do not use print, re-parse to the same model, and print
/// the same again.
#[test]
fn typed_configuration_round_trips() {
    let mut s = tern_config::Session::new();
    for l in [
        "sysname RR9",
        "ip vpn-instance blue",
        "ipv4-family",
        "route-distinguisher 1.1.1.1:7",
        "vpn-target 1:1 2:2 both",
        "vpn-target 3:3 import-extcommunity",
        "ipv6-family",
        "route-distinguisher 65536:7",
        "interface GigabitEthernet0/10/0",
        "description uplink to core",
        "shutdown",
        "ip address 10.0.0.1 24",
        "ip address 10.0.1.1 255.255.255.0 sub",
        "interface GigabitEthernet0/2/0",
        "ip binding vpn-instance blue",
        "ip address 10.9.0.1 30",
        "interface LoopBack0",
        "ip address 9.9.9.9 32",
        "bgp 4200000000",
        "router-id 9.9.9.9",
        "peer 1.1.1.1 as-number 4200000000",
        "peer 1.1.1.1 description client one",
        "peer 1.1.1.1 valid-ttl-hops",
        "peer 1.1.1.1 connect-interface LoopBack0 9.9.9.9",
        "peer 1.1.1.1 password cipher secret",
        "peer 1.1.1.1 timer keepalive 10 hold 30",
        "peer 2.2.2.2 as-number 1.10",
        "peer 2.2.2.2 ebgp-max-hop",
        "peer 2.2.2.2 ignore",
        "peer 2001:db8::2 as-number 65002",
        "ipv4-family unicast",
        "undo peer 2.2.2.2 enable",
        "peer 1.1.1.1 reflect-client",
        "peer 1.1.1.1 next-hop-local",
        "peer 1.1.1.1 route-policy in import",
        "reflector cluster-id 1.2.3.4",
        "network 10.0.0.0 255.255.255.0 route-policy net",
        "import-route static med 10 route-policy st",
        "ipv6-family unicast",
        "peer 2001:db8::2 enable",
        "network 2001:db8:1:: 64",
        "undo synchronization",
        "ipv4-family vpnv4",
        "undo policy vpn-target",
        "peer 1.1.1.1 enable",
        "peer 1.1.1.1 next-hop-invariable",
        "ipv4-family vpn-instance blue",
        "peer 10.9.0.2 as-number 65010",
        "undo peer 10.9.0.2 enable",
        "ipv6-family vpn-instance blue",
        "import-route direct",
        "ip ip-prefix p1 index 10 permit 10.0.0.0 8 greater-equal 16 less-equal 24",
        "ip ip-prefix p1 index 20 deny 0.0.0.0 0",
        "ip route-static 0.0.0.0 0 10.0.0.254",
        "ip route-static vpn-instance blue 10.8.0.0 16 10.9.0.2 preference 20",
        "route-policy in permit node 10",
        "if-match ip-prefix p1",
        "apply local-preference 200",
        "route-policy in deny node 20",
        "mpls",
        "lsp-trigger all",
        "mpls lsr-id 9.9.9.9",
    ] {
        s.apply_line(l).unwrap_or_else(|e| panic!("{l}:\n{e}"));
    }
    let mut cfg = s.into_config();
    let printed = cfg.to_vrp();
    let again = parse_file(&printed).unwrap_or_else(|e| panic!("{e}\n{printed}"));
    // Kept lines were typed interleaved across blocks; read back, they are in print order.
    assert_ne!(again, cfg);
    cfg.normalize_kept();
    assert_eq!(cfg.to_vrp(), printed);
    assert_eq!(again, cfg, "\n{printed}");
    assert_eq!(again.to_vrp(), printed);
    for want in [
        "#\nsysname RR9\n#\nip vpn-instance blue\n ipv4-family\n  route-distinguisher 1.1.1.1:7\n  vpn-target 1:1 export-extcommunity\n  vpn-target 2:2 export-extcommunity\n  vpn-target 1:1 import-extcommunity\n  vpn-target 2:2 import-extcommunity\n  vpn-target 3:3 import-extcommunity\n ipv6-family\n  route-distinguisher 65536:7\n#\nmpls lsr-id 9.9.9.9\n#\nmpls\n lsp-trigger all\n#\n",
        "#\ninterface GigabitEthernet0/2/0\n ip binding vpn-instance blue\n ip address 10.9.0.1 255.255.255.252\n#\ninterface GigabitEthernet0/10/0\n description uplink to core\n shutdown\n ip address 10.0.0.1 255.255.255.0\n ip address 10.0.1.1 255.255.255.0 sub\n#\ninterface LoopBack0\n",
        " peer 1.1.1.1 as-number 4200000000\n peer 1.1.1.1 description client one\n peer 1.1.1.1 valid-ttl-hops 255\n peer 1.1.1.1 connect-interface LoopBack0 9.9.9.9\n peer 1.1.1.1 password cipher %^%# keepalive 10 hold 30\n peer 2.2.2.2 as-number 1.10\n peer 2.2.2.2 ebgp-max-hop 255\n peer 2.2.2.2 ignore\n",
        " ipv4-family unicast\n  reflector cluster-id 1.2.3.4\n  network 10.0.0.0 255.255.255.0 route-policy net\n  import-route static med 10 route-policy st\n  peer 1.1.1.1 enable\n  peer 1.1.1.1 route-policy in import\n  peer 1.1.1.1 reflect-client\n  peer 1.1.1.1 next-hop-local\n  undo peer 2.2.2.2 enable\n #\n",
        " ipv4-family vpn-instance blue\n  peer 10.9.0.2 as-number 65010\n  undo peer 10.9.0.2 enable\n #\n ipv6-family vpn-instance blue\n  import-route direct\n#\n",
        "#\nroute-policy in permit node 10\n if-match ip-prefix p1\n apply local-preference 200\n#\nroute-policy in deny node 20\n#\nip ip-prefix p1 index 10 permit 10.0.0.0 8 greater-equal 16 less-equal 24\nip ip-prefix p1 index 20 deny 0.0.0.0 0\n#\nip route-static 0.0.0.0 0.0.0.0 10.0.0.254\nip route-static vpn-instance blue 10.8.0.0 255.255.0.0 10.9.0.2 preference 20\n#\nreturn\n",
    ] {
        let want = want.split("%^%#").next().unwrap_or(want);
        assert!(printed.contains(want), "missing\n{want}\nin\n{printed}");
    }
    // The key typed in clear after `cipher` is kept in its cipher form only.
    let cipher = printed
        .lines()
        .find_map(|l| l.strip_prefix(" peer 1.1.1.1 password cipher "))
        .expect("password line");
    assert_eq!(
        tern_config::secret::decode(cipher).as_deref(),
        Some("secret")
    );
    assert!(!printed.contains("secret"), "{printed}");
    assert!(printed.contains(&format!(
        "password cipher {cipher}\n peer 1.1.1.1 timer keepalive 10 hold 30\n"
    )));
}

# Routes injected into gobgpd (sourced by capture.sh; $G is the gobgp CLI).
# RD/RT 64086.59905:N is asdot for the 4-octet AS 4200000001 (type 2).
set -e
# IPv4 unicast
$G global rib -a ipv4 add 192.0.2.0/24 origin igp med 10 community 65100:1,no-export large-community 65100:1:1,4200000001:2:3 aggregator 4200000001:10.0.0.1
$G global rib -a ipv4 add 198.51.100.0/24 nexthop 10.0.1.1 local-pref 200 aspath 4200000001,65010
$G global rib -a ipv4 add 203.0.113.0/24 identifier 1 nexthop 10.0.1.10 origin egp
$G global rib -a ipv4 add 203.0.113.0/24 identifier 2 nexthop 10.0.1.11 med 5
# IPv6 unicast
$G global rib -a ipv6 add 2001:db8:100::/48 med 20 community 65100:6
$G global rib -a ipv6 add 2001:db8:200::/64 identifier 1 nexthop fd00::10
$G global rib -a ipv6 add 2001:db8:200::/64 identifier 2 nexthop fd00::11
# labeled unicast (one with a two-label stack)
$G global rib -a ipv4-labelled add 10.20.0.0/16 1001
$G global rib -a ipv4-labelled add 10.21.0.0/16 1002/1003
$G global rib -a ipv6-labelled add 2001:db8:20::/48 2001
# VPNv4 / VPNv6 with RD types 0, 1, 2
$G global rib -a vpnv4 add 10.30.0.0/16 label 3001 rd 65100:1 rt 65100:1
$G global rib -a vpnv4 add 10.31.0.0/16 label 3002 rd 10.0.0.1:2 rt 10.0.0.1:2 65100:2 med 30
$G global rib -a vpnv4 add 10.32.0.0/16 label 3003 rd 64086.59905:3 rt 64086.59905:3
$G global rib -a vpnv6 add 2001:db8:30::/48 label 4001 rd 65100:1 rt 65100:1
$G global rib -a vpnv6 add 2001:db8:31::/48 label 4002 rd 10.0.0.1:2 rt 10.0.0.1:2 65100:2 community 65100:31
$G global rib -a vpnv6 add 2001:db8:32::/48 label 4003 rd 64086.59905:3 rt 64086.59905:3

import { BlockList, isIP } from "node:net";

/**
 * Which hosts a cloud scanner must never be pointed at: decided on parsed addresses (node:net BlockList),
 * never on how an address is spelled, so `[::ffff:127.0.0.1]`, `0x7f.1` or `2130706433` (which the URL
 * parser already turns into 127.0.0.1) cannot slip through.
 */

/**
 * IPv4 blocks that are not globally reachable (IANA IPv4 Special-Purpose Address Registry,
 * https://www.iana.org/assignments/iana-ipv4-special-registry/), plus multicast (RFC 5771) and the
 * deprecated 6to4 relay anycast block.
 */
const IPV4_BLOCKS: Array<[string, number]> = [
  ["0.0.0.0", 8], // "this network", incl. the unspecified address
  ["10.0.0.0", 8], // RFC 1918
  ["100.64.0.0", 10], // carrier-grade NAT (RFC 6598)
  ["127.0.0.0", 8], // loopback
  ["169.254.0.0", 16], // link-local, cloud metadata services
  ["172.16.0.0", 12], // RFC 1918
  ["192.0.0.0", 24], // IETF protocol assignments
  ["192.0.2.0", 24], // documentation (TEST-NET-1)
  ["192.88.99.0", 24], // 6to4 relay anycast (RFC 7526, deprecated)
  ["192.168.0.0", 16], // RFC 1918
  ["198.18.0.0", 15], // benchmarking (RFC 2544)
  ["198.51.100.0", 24], // documentation (TEST-NET-2)
  ["203.0.113.0", 24], // documentation (TEST-NET-3)
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, incl. the broadcast address 255.255.255.255
];

/**
 * Only IPv6 global unicast (2000::/3, RFC 4291 section 2.4) can be a scan target: everything else is
 * loopback, unspecified, IPv4-mapped/-compatible/translated (::/96, ::ffff:0:0/96, ::ffff:0:0:0/96),
 * NAT64 (64:ff9b::/96, 64:ff9b:1::/48), discard, unique-local (fc00::/7), link-local (fe80::/10),
 * site-local (fec0::/10) or multicast (ff00::/8). Inside 2000::/3, the blocks below are not globally
 * reachable or embed an IPv4 address (IANA IPv6 Special-Purpose Address Registry,
 * https://www.iana.org/assignments/iana-ipv6-special-registry/).
 */
const IPV6_GLOBAL_UNICAST: [string, number] = ["2000::", 3];
const IPV6_BLOCKS: Array<[string, number]> = [
  ["2001::", 23], // IETF protocol assignments, incl. Teredo 2001::/32 (embeds an IPv4 address)
  ["2001:db8::", 32], // documentation
  ["2002::", 16], // 6to4 (embeds an IPv4 address; RFC 7526)
  ["3fff::", 20], // documentation (RFC 9637)
];

const blocked = new BlockList();
for (const [network, prefix] of IPV4_BLOCKS) blocked.addSubnet(network, prefix, "ipv4");
for (const [network, prefix] of IPV6_BLOCKS) blocked.addSubnet(network, prefix, "ipv6");
const globalUnicast = new BlockList();
globalUnicast.addSubnet(IPV6_GLOBAL_UNICAST[0], IPV6_GLOBAL_UNICAST[1], "ipv6");

/**
 * Names that only mean something inside a network: `localhost` (RFC 6761), `.local` (RFC 6762),
 * `.internal` (reserved for private use by ICANN in 2024 after SSAC's SAC113,
 * https://www.icann.org/en/system/files/files/sac-113-en.pdf), `.home.arpa` (RFC 8375), and common
 * home and corporate suffixes.
 */
const INTERNAL_SUFFIXES = [
  "localhost",
  "local",
  "internal",
  "home.arpa",
  "lan",
  "localdomain",
  "intranet",
  "corp",
];

/** True for any address that is not a public unicast address; anything that is not an IP address counts too. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return blocked.check(address, "ipv4");
  if (family === 6) return !globalUnicast.check(address, "ipv6") || blocked.check(address, "ipv6");
  return true;
}

/** A URL's hostname without IPv6 brackets, lower-cased, without the final dot of a fully qualified name. */
export function plainHost(hostname: string): string {
  const host = hostname.toLowerCase();
  if (host.startsWith("[") && host.endsWith("]")) return host.slice(1, -1);
  return host.endsWith(".") ? host.slice(0, -1) : host;
}

/** True when the host is an IP address (spelled any way `URL` accepts), not a name to look up. */
export function isAddressLiteral(hostname: string): boolean {
  return isIP(plainHost(hostname)) !== 0;
}

/**
 * Loopback, private, link-local, reserved and internal hosts: scanning them from a cloud scanner is a
 * mistake or an attack. Host names are judged by their spelling only here (single-label and internal
 * suffixes); where a public-looking name points is the resolver's part (see TargetGuard).
 */
export function isPrivateHost(hostname: string): boolean {
  const host = plainHost(hostname);
  if (isIP(host) !== 0) return isPrivateAddress(host);
  const labels = host.split(".");
  // A single label (`intranet`) or an empty label (`a..b`, `localhost..`) is never a public name.
  if (labels.length < 2 || labels.some((label) => label === "")) return true;
  return INTERNAL_SUFFIXES.some((suffix) => host === suffix || host.endsWith(`.${suffix}`));
}

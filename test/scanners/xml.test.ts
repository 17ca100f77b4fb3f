import assert from "node:assert/strict";
import { test } from "node:test";
import { descendants, parseXml, XmlError } from "../../src/scanners/xml.js";

test("reads elements, attributes in both quote styles, text, CDATA, comments and a BOM", () => {
  const root = parseXml(
    "\uFEFF<?xml version='1.0'?>\n<!-- a -->\n<a x=\"1\" y='two &apos;q&apos;'>\n  hi <![CDATA[<not markup> & ]]>there<b/><c z=\"&#x1F600;&#10;\"></c>\n</a>\n<!-- tail -->",
  );
  assert.equal(root.name, "a");
  assert.deepEqual(root.attributes, { x: "1", y: "two 'q'" });
  assert.equal(root.text.replace(/\s+/g, " ").trim(), "hi <not markup> & there");
  assert.deepEqual(
    root.children.map((c) => c.name),
    ["b", "c"],
  );
  assert.equal(root.children[1]?.attributes.z, "😀\n");
});

test("normalises literal whitespace in attribute values but keeps character references", () => {
  const root = parseXml('<a m="line1\nline2\tx&#9;"/>');
  assert.equal(root.attributes.m, "line1 line2 x\t");
});

test("finds descendants in document order", () => {
  const root = parseXml('<r><t n="1"><t n="2"/></t><u><t n="3"/></u></r>');
  assert.deepEqual(
    descendants(root, "t").map((e) => e.attributes.n),
    ["1", "2", "3"],
  );
});

test("refuses DTDs, entity declarations and unknown entities", () => {
  const bad = [
    '<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>',
    '<r><!ENTITY x "y"></r>',
    "<r>&x;</r>",
    '<r a="&nbsp;"/>',
  ];
  for (const xml of bad) assert.throws(() => parseXml(xml), XmlError, xml);
});

test("refuses malformed documents", () => {
  const bad = [
    "",
    "text only",
    "<a>",
    "<a></b>",
    "<a/><b/>",
    "<a/>trailing",
    "</a>",
    "<a x=1/>",
    '<a x="1" x="2"/>',
    '<a x="1"y="2"/>',
    '<a x="<"/>',
    "<a>AT&T</a>",
    "<a>&#0;</a>",
    "<a>&#xD800;</a>",
    // Names of Object.prototype members are not entities (once decoded to a function's source text).
    "<a>&constructor;</a>",
    '<a x="&toString;"/>',
    "<a>&amp</a>",
    "<a><!-- open </a>",
    "<a><![CDATA[open</a>",
    '<a x="open/>',
  ];
  for (const xml of bad) assert.throws(() => parseXml(xml), XmlError, JSON.stringify(xml));
});

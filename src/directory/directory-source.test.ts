import { describe, expect, it } from "vitest";
import { AppError } from "../core/errors.ts";
import { CsvDirectorySource, parseDirectoryCsv } from "./csv-source.ts";
import { normalizeImmutableId, poolOf } from "./directory-source.ts";
import { LdifDirectorySource, parseDirectoryLdif } from "./ldif-source.ts";

function errorOf(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error("expected an AppError");
}

/** Bytes 00..0f as objectGUID: Windows stores the first three groups little-endian. */
const GUID_B64 = "AAECAwQFBgcICQoLDA0ODw==";
const GUID = "03020100-0504-0706-0809-0a0b0c0d0e0f";

const LDIF = `version: 1
# An export of the Users OU
dn: OU=Users,DC=contoso,DC=com
objectClass: organizationalUnit

dn: CN=Ken Myer,OU=Users,DC=contoso,DC=com
objectClass: top
objectClass: user
objectGUID:: ${GUID_B64}
userPrincipalName: kenmyer@contoso.com
displayName: Ken
  Myer
mailNickname: kenmyer
c: us
msRTCSIP-PrimaryUserAddress: sip:kenmyer@contoso.com
msRTCSIP-UserEnabled: TRUE
msRTCSIP-OptionFlags: 385
msRTCSIP-PrimaryHomeServer: CN=Lc Services,CN=Microsoft,CN=pool01.contoso.com,CN=Pools,CN=RTC Service,CN=Services,CN=Configuration,DC=contoso,DC=com
msRTCSIP-DeploymentLocator: SRV:
msRTCSIP-Line: tel:+1 425 555 0200

# a user never enabled for Skype for Business
dn: CN=Ann,OU=Users,DC=contoso,DC=com
objectClass: user
objectGUID: {6F9619FF-8B86-D011-B42D-00C04FC964FF}
userPrincipalName: ann@contoso.com
displayName:: QW5uIMOFa2Vyc3Ryw7Zt
`;

describe("parseDirectoryLdif", () => {
  it("reads users: folded lines, base64 values, comments, objectGUID bytes, option flags, pool DN", () => {
    const [ken, ann, ...rest] = parseDirectoryLdif(LDIF, "users.ldif");
    expect(rest).toHaveLength(0);
    expect(ken).toEqual({
      immutableId: GUID,
      userPrincipalName: "kenmyer@contoso.com",
      displayName: "Ken Myer",
      alias: "kenmyer",
      usageLocation: "US",
      sipAddress: "sip:kenmyer@contoso.com",
      sipEnabled: true,
      registrarPool: "pool01.contoso.com",
      hostingProvider: "SRV:",
      enterpriseVoiceEnabled: true,
      lineUri: "tel:+14255550200",
      voiceRoutingPolicy: null,
    });
    expect(ann).toMatchObject({
      immutableId: "6f9619ff-8b86-d011-b42d-00c04fc964ff",
      displayName: "Ann Åkerström",
      sipAddress: null,
      sipEnabled: false,
      hostingProvider: null,
      enterpriseVoiceEnabled: false,
    });
  });

  it.each([
    ["dn: CN=x\nobjectClass: user\nuserPrincipalName: x@contoso.com\n", "line 1", "objectGUID"],
    [`dn: CN=x\nobjectGUID:: ${GUID_B64}\n`, "line 1", "userPrincipalName"],
    ["objectClass: user\n", "line 1", "must start with dn:"],
    ["dn: CN=x\nthis is not ldif\n", "line 2", "not an LDIF line"],
    ["dn: CN=x\nchangetype: delete\n", "line 2", "changetype delete"],
    ["dn: CN=x\nphoto:< file:///x.jpg\n", "line 2", "URL values"],
    [`dn: CN=x\nobjectGUID:: ${GUID_B64}\nuserPrincipalName: x@contoso.com\nmsRTCSIP-Line: 4255550200\n`, "line 1", "no leading +"],
    [`dn: CN=x\nobjectGUID:: ${GUID_B64}\nuserPrincipalName: x@contoso.com\nmsRTCSIP-OptionFlags: lots\n`, "line 1", "OptionFlags"],
    [
      `dn: CN=x\nobjectGUID:: ${GUID_B64}\nuserPrincipalName: x@contoso.com\n\ndn: CN=y\nobjectGUID:: ${GUID_B64}\nuserPrincipalName: y@contoso.com\n`,
      "line 5",
      "also used at bad.ldif line 1",
    ],
  ])("refuses %j naming the file and %s", (text, line, fragment) => {
    const err = errorOf(() => parseDirectoryLdif(text, "bad.ldif"));
    expect(err.code).toBe("invalid_input");
    expect(err.message).toContain(`bad.ldif ${line}`);
    expect(err.message).toContain(fragment);
  });

  it("is a DirectorySource", async () => {
    const all = [];
    for await (const o of LdifDirectorySource.fromText(LDIF, "users.ldif").objects()) all.push(o.userPrincipalName);
    expect(all).toEqual(["kenmyer@contoso.com", "ann@contoso.com"]);
  });
});

describe("parseDirectoryCsv", () => {
  it("maps AD and Get-CsUser style headers, with EnterpriseVoiceEnabled or option flags", async () => {
    const csv = [
      "ImmutableId,UserPrincipalName,Display Name,SamAccountName,UsageLocation,msRTCSIP-PrimaryUserAddress,RegistrarPool,msRTCSIP-Line,msRTCSIP-OptionFlags,VoiceRoutingPolicy",
      `${GUID_B64},kenmyer@contoso.com,Ken Myer,kenmyer,US,kenmyer@contoso.com,pool01.contoso.com,"tel:+14255551297;ext=51297",128,Redmond`,
      "6F9619FF-8B86-D011-B42D-00C04FC964FF,ann@contoso.com,Ann,,,,,,,",
    ].join("\n");
    const [ken, ann] = parseDirectoryCsv(csv, "export.csv");
    expect(ken).toMatchObject({
      immutableId: GUID,
      sipAddress: "sip:kenmyer@contoso.com",
      sipEnabled: true,
      registrarPool: "pool01.contoso.com",
      hostingProvider: "SRV:",
      enterpriseVoiceEnabled: true,
      lineUri: "tel:+14255551297;ext=51297",
      voiceRoutingPolicy: "Redmond",
    });
    expect(ann).toMatchObject({ immutableId: "6f9619ff-8b86-d011-b42d-00c04fc964ff", sipEnabled: false, alias: null });
    const fromSource = [];
    for await (const o of CsvDirectorySource.fromText(csv, "export.csv").objects()) fromSource.push(o.immutableId);
    expect(fromSource).toHaveLength(2);
  });

  it.each([
    ["", "empty"],
    ["UserPrincipalName\nx@contoso.com\n", "line 1: no objectGUID"],
    [
      "objectGUID,UserPrincipalName\n1,x@contoso.com\n2,X@contoso.com\n",
      "line 3: userPrincipalName x@contoso.com is also used at export.csv line 2",
    ],
    ["objectGUID,UserPrincipalName,EnterpriseVoiceEnabled\n1,x@contoso.com,maybe\n", "line 2: EnterpriseVoiceEnabled"],
    ["objectGUID,UserPrincipalName,msRTCSIP-UserEnabled\n1,x@contoso.com,true\n", "line 2: the object is enabled for SfB but has no"],
    ['objectGUID,UserPrincipalName\n1,"x@contoso.com\n', "not valid CSV"],
    ["objectGUID,UserPrincipalName\n1,not-a-upn\n", "line 2: userPrincipalName"],
  ])("refuses %j", (text, fragment) => {
    const err = errorOf(() => parseDirectoryCsv(text, "export.csv"));
    expect(err.code).toBe("invalid_input");
    expect(err.message).toContain("export.csv");
    expect(err.message).toContain(fragment);
  });
});

describe("normalizeImmutableId and poolOf", () => {
  it.each([
    [GUID_B64, GUID],
    ["{6F9619FF-8B86-D011-B42D-00C04FC964FF}", "6f9619ff-8b86-d011-b42d-00c04fc964ff"],
    ["6f9619ff8b86d011b42d00c04fc964ff", "6f9619ff-8b86-d011-b42d-00c04fc964ff"],
    ["emp-0042", "emp-0042"],
  ])("%s → %s", (input, expected) => expect(normalizeImmutableId(input)).toBe(expected));

  it.each([
    ["pool01.contoso.com", "pool01.contoso.com"],
    ["CN=Lc Services,CN=Microsoft,CN=1:1,CN=Pools,DC=contoso", "1:1"],
  ])("%s → %s", (input, expected) => expect(poolOf(input)).toBe(expected));
});

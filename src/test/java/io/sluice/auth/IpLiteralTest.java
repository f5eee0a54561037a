package io.sluice.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** Address literals read exactly as glibc's inet_pton reads them (expected values taken from it). */
class IpLiteralTest {

    @Test
    void acceptsWhatInetPtonAccepts() {
        String[][] cases = {
            {"1.2.3.4", "01020304"},
            {"0.0.0.0", "00000000"},
            {"255.255.255.255", "ffffffff"},
            {"::", "00000000000000000000000000000000"},
            {"::1", "00000000000000000000000000000001"},
            {"1::", "00010000000000000000000000000000"},
            {"1:2:3:4:5:6:7:8", "00010002000300040005000600070008"},
            {"1:2:3:4:5:6:7::", "00010002000300040005000600070000"},
            {"::1:2:3:4:5:6:7", "00000001000200030004000500060007"},
            {"::ffff:1.2.3.4", "00000000000000000000ffff01020304"},
            {"1:2:3:4:5:6:1.2.3.4", "00010002000300040005000601020304"},
            {"::1.2.3.4", "00000000000000000000000001020304"},
            {"::FFFF:ABCD", "000000000000000000000000ffffabcd"},
            {"0000:0:0:0:0:0:0:1", "00000000000000000000000000000001"},
        };
        for (String[] c : cases) {
            assertThat(IpLiteral.parse(c[0])).as(c[0]).isEqualTo(HexFormat.of().parseHex(c[1]));
        }
    }

    @Test
    void refusesWhatInetPtonRefuses() {
        String[] bad = {"256.1.1.1", "01.2.3.4", "1.2.3", "1.2.3.4.", "127.1", "1.2.3.04", "1..2.3", " 1.2.3.4",
            "0x1.2.3.4", "1.2.3.-4", "1.2.3.00", "", "localhost", "1:2:3:4:5:6:7:8::", "1:2:3:4:5:6:7:8:9",
            ":1::", ":::", "1:::2", "1::2::3", "1:2:3:4:5:6:7:1.2.3.4", "1.2.3.4::", "::ffff:01.2.3.4",
            "12345::", "fe80::1%eth0", "1::2:", "1:2:3:4:5:6:7", "::1.2.3.4:5", "::1.2.3", ":", "\u0661.2.3.4",
            "::\u0661"};
        for (String s : bad) {
            assertThat(IpLiteral.parse(s)).as(s).isNull();
        }
    }
}

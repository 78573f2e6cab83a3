package redis

import "testing"

// BenchmarkParseURL measures parsing a URL of each form into resolved Options.
func BenchmarkParseURL(b *testing.B) {
	urls := []string{
		"redis://localhost", "rediss://u:p@h:6380/1?prefix={ld}&read_timeout=1s", "redis+cluster://a?addr=b&addr=c:7000",
		"redis+sentinel://u:p@s1?master=m&addr=s2:26380&sentinel_password=sp",
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		o, err := ParseURL(urls[i%len(urls)])
		if err != nil {
			b.Fatal(err)
		}
		if _, err := o.resolve(); err != nil {
			b.Fatal(err)
		}
	}
}

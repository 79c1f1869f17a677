package webui

import "testing"

func TestCheckListenAddr(t *testing.T) {
	tests := []struct {
		addr   string
		remote bool
		ok     bool
	}{
		{"127.0.0.1:0", false, true},
		{"127.0.0.1:8080", false, true},
		{"localhost:8080", false, true},
		{"[::1]:0", false, true},
		{"127.1.2.3:0", false, true},
		{":8080", false, false}, // every interface
		{"0.0.0.0:8080", false, false},
		{"[::]:8080", false, false},
		{"192.168.1.10:8080", false, false},
		{"example.com:80", false, false},
		{"0.0.0.0:8080", true, true},
		{"192.168.1.10:8080", true, true},
		{"8080", false, false}, // not host:port
		{"8080", true, false},
	}
	for _, tc := range tests {
		err := CheckListenAddr(tc.addr, tc.remote)
		if (err == nil) != tc.ok {
			t.Errorf("CheckListenAddr(%q, %v) = %v, want ok=%v", tc.addr, tc.remote, err, tc.ok)
		}
	}
}

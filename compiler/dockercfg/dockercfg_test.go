package dockercfg

import (
	"errors"
	"strings"
	"testing"
)

func TestParseDockerConfigJSON(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []DockerAuth
		wantErr string
	}{
		{"username and password", `{"auths": {"r.example": {"username": "u", "password": "p"}}}`,
			[]DockerAuth{{Registry: "r.example", Username: "u", Password: "p"}}, ""},
		// The kubelet's DockerConfigEntry: auth, when present, wins.
		{"auth wins over username and password", `{"auths": {"r.example": {"username": "u", "password": "p", "auth": "YTpi"}}}`,
			[]DockerAuth{{Registry: "r.example", Username: "a", Password: "b"}}, ""},
		{"tokens kept, sorted by registry", `{"auths": {"z.example": {"identitytoken": "it"}, "a.example": {"registrytoken": "rt"}}}`,
			[]DockerAuth{{Registry: "a.example", RegistryToken: "rt"}, {Registry: "z.example", IdentityToken: "it"}}, ""},
		{"auth not base64", `{"auths": {"r.example": {"auth": "%%%"}}}`, nil, `auths["r.example"].auth is not base64`},
		{"auth without a colon", `{"auths": {"r.example": {"auth": "YWJj"}}}`, nil, "not base64 of user:password"},
		{"syntax error at its offset, without the content", `{"auths": {"r.example": {"password": s3cret}}}`, nil, "syntax error at byte"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDockerConfigJSON([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "s3cret") {
					t.Errorf("the error quotes the content: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("entry %d: %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
	var je *JSONError
	if _, err := ParseDockerConfigJSON([]byte(`{"auths": 1}`)); !errors.As(err, &je) || je.Offset == 0 {
		t.Errorf("a type error: %v, want a JSONError with its offset", err)
	}
}

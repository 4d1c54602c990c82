package main

import (
	"fmt"
	"path"
	"strings"

	"github.com/berth/berth/imagestore"
)

// imageFilter is Docker's images --filter: dangling=true|false,
// reference=PATTERN (a shell pattern on REPOSITORY, or on
// REPOSITORY:TAG when it has a tag), label=KEY[=VALUE]. The same key
// given twice matches either value; different keys must all match.
func imageFilter(filters []string) (func(imagestore.Image, imageRow) bool, error) {
	byKey := map[string][]string{}
	for _, f := range filters {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return nil, fmt.Errorf("bad format of filter (expected name=value): %s", f)
		}
		switch k {
		case "dangling":
			if v != "true" && v != "false" && v != "1" && v != "0" {
				return nil, fmt.Errorf("invalid filter 'dangling=%s'", v)
			}
		case "reference":
			if _, err := path.Match(v, ""); err != nil {
				return nil, fmt.Errorf("invalid filter 'reference=%s': %v", v, err)
			}
		case "label":
		default:
			return nil, fmt.Errorf("invalid filter '%s'", k)
		}
		byKey[k] = append(byKey[k], v)
	}
	one := func(img imagestore.Image, row imageRow, k, v string) bool {
		switch k {
		case "dangling":
			return (len(img.Names) == 0) == (v == "true" || v == "1")
		case "reference":
			if row.Repository == "<none>" {
				return false
			}
			name := row.Repository
			if strings.Contains(v[strings.LastIndex(v, "/")+1:], ":") {
				name += ":" + row.Tag
			}
			m, _ := path.Match(v, name)
			return m
		case "label":
			lk, lv, hasValue := strings.Cut(v, "=")
			got, ok := img.Config.Config.Labels[lk]
			return ok && (!hasValue || got == lv)
		}
		return false
	}
	return func(img imagestore.Image, row imageRow) bool {
		for k, vs := range byKey {
			hit := false
			for _, v := range vs {
				hit = hit || one(img, row, k, v)
			}
			if !hit {
				return false
			}
		}
		return true
	}, nil
}

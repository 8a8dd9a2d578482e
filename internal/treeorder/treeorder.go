// Package treeorder is the order in which mlci lists a dataset's paths: as
// a tree walk visits them, '/' before every other byte, so a directory's
// entries are contiguous and siblings are in byte order of their names.
// The Merkle tree, the manifests and the state cache all keep it, so it
// has one implementation, in a package each of them can import.
package treeorder

// Compare orders two slash-separated paths; negative when a comes first.
func Compare(a, b string) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		ca, cb := a[i], b[i]
		if ca == cb {
			continue
		}
		if ca == '/' {
			return -1
		}
		if cb == '/' {
			return 1
		}
		if ca < cb {
			return -1
		}
		return 1
	}
	return len(a) - len(b)
}

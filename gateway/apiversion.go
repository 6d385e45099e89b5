package gateway

// The data-plane api-versions Azure OpenAI accepts, per operation: the
// folders of Azure's data-plane spec,
// specification/cognitiveservices/data-plane/AzureOpenAI/inference/{stable,preview}/<version>/
// in Azure/azure-rest-api-specs, each of which lists the operations of its
// version. Completions is in every one of them; chat completions first
// appears in 2023-03-15-preview, so the 2022 versions (2022-03-01-preview,
// 2022-06-01-preview, 2022-12-01) serve completions only.
//
// Neither official SDK picks a version by itself: openai-go's
// azure.WithEndpoint requires one (its docs suggest 2024-06-01), and the
// openai npm package's AzureOpenAI takes apiVersion or OPENAI_API_VERSION and
// throws without one (its examples send 2024-10-01-preview). ptu's own client
// sends 2024-10-21 and `ptu bench` 2023-05-15, like Azure's benchmark tool.
var (
	stableVersions = []string{"2022-12-01", "2023-05-15", "2024-02-01", "2024-06-01", "2024-10-21"}

	previewVersions = []string{
		"2022-03-01-preview", "2022-06-01-preview",
		"2023-03-15-preview", "2023-06-01-preview", "2023-07-01-preview", "2023-08-01-preview",
		"2023-09-01-preview", "2023-10-01-preview", "2023-12-01-preview",
		"2024-02-15-preview", "2024-03-01-preview", "2024-04-01-preview", "2024-05-01-preview",
		"2024-07-01-preview", "2024-08-01-preview", "2024-09-01-preview", "2024-10-01-preview",
		"2024-12-01-preview",
		"2025-01-01-preview", "2025-02-01-preview", "2025-03-01-preview", "2025-04-01-preview",
	}

	// completionsOnly are the versions whose spec has no chat completions.
	completionsOnly = map[string]bool{"2022-03-01-preview": true, "2022-06-01-preview": true, "2022-12-01": true}

	apiVersions = func() map[string]bool {
		m := map[string]bool{}
		for _, v := range append(append([]string{}, stableVersions...), previewVersions...) {
			m[v] = true
		}
		return m
	}()
)

// supportsAPIVersion reports whether Azure serves op at api-version v.
func (op operation) supportsAPIVersion(v string) bool {
	if !apiVersions[v] {
		return false
	}
	return op == opCompletions || !completionsOnly[v]
}

// msgAPIVersion is Azure's message for an api-version it does not serve
// (400, code BadRequest), as clients report it, e.g.
// https://github.com/hotovo/aider-desk/issues/460 and
// https://github.com/mindsdb/mindshub/issues/11563:
// {"error":{"code":"BadRequest","message":"API version not supported"}}.
const msgAPIVersion = "API version not supported"

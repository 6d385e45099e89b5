package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/ptu-dev/ptu/client"
	"github.com/ptu-dev/ptu/oai"
)

// A chat completion on an account found through the control plane; 429s
// are retried after the wait the service gives, twice by default.
func ExampleClient_ChatCompletion() {
	c, err := client.New(client.WithEndpoint("http://127.0.0.1:8080"), client.WithToken(os.Getenv("PTU_TOKEN")))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	ac, err := c.ForAccount(ctx, "demo", "demo-aoai")
	if err != nil {
		log.Fatal(err)
	}
	max := 50
	res, err := ac.ChatCompletion(ctx, "gpt-4o", client.ChatRequest{
		Messages:  []client.Message{{Role: "user", Content: "Does Azure OpenAI support customer managed keys?"}},
		MaxTokens: &max,
	}, client.WithMaxRetries(5))
	if err != nil {
		var e *client.Error
		if errors.As(err, &e) {
			log.Fatalf("%s (HTTP %d, request %s): %s", e.Code, e.StatusCode, e.RequestID, e.Message)
		}
		log.Fatal(err)
	}
	fmt.Println(res.Text())
	for _, a := range res.Response.Attempts {
		fmt.Println(a.StatusCode, a.Wait)
	}
}

// A streamed answer, failing over to another deployment at once on 429.
func ExampleClient_ChatCompletionStream() {
	ac, err := client.New(
		client.WithAzureEndpoint("http://127.0.0.1:8080/accounts/demo-aoai/"),
		client.WithAPIKey(os.Getenv("AZURE_OPENAI_API_KEY")),
		client.WithFailover(client.Target{Deployment: "gpt-4o-backup"}),
	)
	if err != nil {
		log.Fatal(err)
	}
	req := client.ChatRequest{
		Messages:      []client.Message{{Role: "user", Content: "Name three rivers."}},
		StreamOptions: &oai.StreamOptions{IncludeUsage: true},
	}
	st, err := ac.ChatCompletionStream(context.Background(), "gpt-4o", req)
	if err != nil {
		log.Fatal(err)
	}
	for chunk, err := range st.All() {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Print(client.ChunkText(chunk))
	}
	fmt.Println("\nserved by", st.Response.Served.Deployment)
}

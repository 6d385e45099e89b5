package sim

import "github.com/ptu-dev/ptu/oai"

// The JSON shapes the simulator's server reads and writes are OpenAI's, shared
// with the gateway and the client in package oai.
type (
	ChatCompletionRequest   = oai.ChatCompletionRequest
	ChatMessage             = oai.ChatMessage
	Content                 = oai.Content
	StopSequences           = oai.StopSequences
	StreamOptions           = oai.StreamOptions
	CompletionRequest       = oai.CompletionRequest
	Prompt                  = oai.Prompt
	PromptItem              = oai.PromptItem
	ChatCompletion          = oai.ChatCompletion
	ChatChoice              = oai.ChatChoice
	ResponseMessage         = oai.ResponseMessage
	ChatCompletionChunk     = oai.ChatCompletionChunk
	ChunkChoice             = oai.ChunkChoice
	Delta                   = oai.Delta
	Completion              = oai.Completion
	CompletionChoice        = oai.CompletionChoice
	Usage                   = oai.Usage
	PromptTokensDetails     = oai.PromptTokensDetails
	CompletionTokensDetails = oai.CompletionTokensDetails
	ModelList               = oai.ModelList
	Model                   = oai.Model
	ErrorResponse           = oai.ErrorResponse
	APIError                = oai.APIError
)

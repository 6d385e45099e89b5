package tokens

import (
	"math/rand/v2"
	"strings"
)

// proseWords is a vocabulary of everyday English, weighted towards short
// function words the way real prose is.
var proseWords = strings.Fields(`the the the of of and and to to a a in in is is that it for was on
are as with his they be at one have this from or had by word but what some we can out other were all
there when up use your how said an each she which do their time if will way about many then them write
would like so these her long make thing see him two has look more day could go come did number sound no
most people my over know water than call first who may down side been now find any new work part take
get place made live where after back little only round man year came show every good me give our under
name very through just form sentence great think say help low line differ turn cause much mean before
move right boy old too same tell does set three want air well also play small end put home read hand
port large spell add even land here must big high such follow act why ask men change went light kind off
need house picture try us again animal point mother world near build self earth father head stand own
page should country found answer school grow study still learn plant cover food sun four between state
keep eye never last let thought city tree cross farm hard start might story saw far sea draw left late
run while press close night real life few north open seem together next white children begin got walk
example ease paper group always music those both mark often letter until mile river car feet care second
book carry took science eat room friend began idea fish mountain stop once base hear horse cut sure watch
color face wood main enough plain girl usual young ready above ever red list though feel talk bird soon
body dog family direct pose leave song measure door product black short numeral class wind question
happen complete ship area half rock order fire south problem piece told knew pass since top whole king
space heard best hour better true during hundred five remember step early hold west ground interest reach
fast verb sing listen six table travel less morning deployment throughput latency capacity request
response model token provisioned utilization quota region`)

// englishText returns about n bytes of deterministic English-like prose:
// capitalised sentences of varied length with commas, numbers, quotes and
// paragraph breaks.
func englishText(n int) string {
	r := rand.New(rand.NewPCG(2024, 10))
	var sb strings.Builder
	for sb.Len() < n {
		words := 6 + r.IntN(18)
		for i := range words {
			w := proseWords[r.IntN(len(proseWords))]
			switch {
			case i == 0:
				w = strings.ToUpper(w[:1]) + w[1:]
			case r.IntN(40) == 0:
				sb.WriteString(" ")
				sb.WriteString([]string{"12", "1,024", "3.5", "2024", "99%"}[r.IntN(5)])
			case r.IntN(60) == 0:
				w = `"` + w + `"`
			}
			if i > 0 {
				sb.WriteByte(' ')
			}
			sb.WriteString(w)
			if i > 2 && i < words-2 && r.IntN(9) == 0 {
				sb.WriteByte(',')
			}
		}
		sb.WriteString([]string{".", ".", ".", "?", "!"}[r.IntN(5)])
		if r.IntN(6) == 0 {
			sb.WriteString("\n\n")
		} else {
			sb.WriteByte(' ')
		}
	}
	return sb.String()
}
